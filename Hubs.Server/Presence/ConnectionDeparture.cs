namespace Hubs.Server.Presence;

/// <summary>
/// The one path by which a connection leaves presence when it is gone: disconnected normally, found stale after
/// Redis came back, or owned by a node that died. Each room it was in hears of it (<c>UserLeft</c>, or its next
/// digest) when it was the user's last connection there.
/// </summary>
internal sealed class ConnectionDeparture(IPresenceTracker presence, PresenceAnnouncer announcer)
{
    public async Task DepartAsync(string connectionId, string userId, CancellationToken cancellationToken)
    {
        foreach (var roomId in await presence.GetRoomsAsync(connectionId, cancellationToken))
        {
            var outcome = await presence.LeaveAsync(roomId, connectionId, cancellationToken);
            await announcer.LeftAsync(roomId, outcome, announceUser: true, cancellationToken);
        }

        await presence.DisconnectAsync(connectionId, userId, cancellationToken);
    }
}
