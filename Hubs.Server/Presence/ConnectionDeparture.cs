using Hubs.Contracts;
using Hubs.Server.Rooms;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Presence;

/// <summary>
/// The one path by which a connection leaves presence when it is gone: disconnected normally, found stale after
/// Redis came back, or owned by a node that died. Each room it was in hears <c>UserLeft</c> when it was the user's
/// last connection there.
/// </summary>
internal sealed class ConnectionDeparture(IPresenceTracker presence, TypingThrottle typing, IHubContext<RoomHub, IRoomClient> hub)
{
    public async Task DepartAsync(string connectionId, string userId, CancellationToken cancellationToken)
    {
        foreach (var roomId in await presence.GetRoomsAsync(connectionId, cancellationToken))
        {
            var outcome = await presence.LeaveAsync(roomId, connectionId, cancellationToken);
            if (outcome is { Removed: true, LastOfUser: true, User: { } user })
            {
                typing.Forget(roomId, user.UserId);
                await hub.Clients.Group(RoomGroups.For(roomId)).UserLeft(new UserPresenceEvent(roomId, user.UserId, user.DisplayName));
            }
        }

        await presence.DisconnectAsync(connectionId, userId, cancellationToken);
    }
}
