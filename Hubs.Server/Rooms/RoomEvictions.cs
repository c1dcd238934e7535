using Hubs.Contracts;
using Hubs.Server.Presence;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Rooms;

/// <summary>
/// Takes connections out of a room at once when access changes (T8): out of presence, out of the SignalR group so
/// nothing more is delivered, told why, and <c>UserLeft</c> for users whose last connection went.
/// </summary>
internal sealed partial class RoomEvictions(
    IRoomStore rooms,
    IPresenceTracker presence,
    TypingThrottle typing,
    IHubContext<RoomHub, IRoomClient> hub,
    ILogger<RoomEvictions> logger)
{
    /// <summary>Removes every connection in the room; used when it is deleted.</summary>
    public async Task EvictAllAsync(string roomId, string reason, CancellationToken cancellationToken)
    {
        var entries = await presence.GetConnectionsAsync(roomId, cancellationToken);
        await EvictAsync(roomId, entries, reason, cancellationToken);
    }

    /// <summary>Removes the connections of <paramref name="userId"/>; used for kicks.</summary>
    public async Task EvictUserAsync(string roomId, string userId, string reason, CancellationToken cancellationToken)
    {
        var entries = await presence.GetConnectionsAsync(roomId, cancellationToken);
        await EvictAsync(roomId, entries.Where(e => e.User.UserId == userId).ToArray(), reason, cancellationToken);
    }

    /// <summary>
    /// Re-decides access for connections in the room (all, or one user's) against the room as stored now and removes
    /// those that lost it; used after a stricter update or a revoked invite.
    /// </summary>
    public async Task EvictUnauthorizedAsync(string roomId, string? userId, CancellationToken cancellationToken)
    {
        var entries = await presence.GetConnectionsAsync(roomId, cancellationToken);
        var lost = new List<PresenceEntry>();
        foreach (var entry in entries)
        {
            if (userId is not null && entry.User.UserId != userId)
            {
                continue;
            }

            var (room, grants) = await rooms.GetWithGrantsAsync(roomId, entry.User.UserId, cancellationToken);
            if (room is null || !RoomAccess.CanJoin(room, entry.User, grants))
            {
                lost.Add(entry);
            }
        }

        await EvictAsync(roomId, lost, RemovalReasons.Revoked, cancellationToken);
    }

    private async Task EvictAsync(string roomId, IReadOnlyList<PresenceEntry> entries, string reason, CancellationToken cancellationToken)
    {
        var group = RoomGroups.For(roomId);
        foreach (var entry in entries)
        {
            var outcome = await presence.LeaveAsync(roomId, entry.ConnectionId, cancellationToken);
            if (!outcome.Removed)
            {
                // Left or was removed concurrently: whoever removed it announced it.
                continue;
            }

            try
            {
                // Across nodes the backplane waits for the owning node's acknowledgement; a node that just died never
                // sends one, and its connection receives nothing anyway.
                await hub.Groups.RemoveFromGroupAsync(entry.ConnectionId, group, cancellationToken).WaitAsync(GroupChangeTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                Log.GroupRemovalUnacknowledged(logger, entry.ConnectionId, roomId);
            }

            await hub.Clients.Client(entry.ConnectionId).RemovedFromRoom(new RemovedFromRoomEvent(roomId, reason));
            Log.Evicted(logger, entry.ConnectionId, roomId, reason);
            if (outcome.LastOfUser)
            {
                typing.Forget(roomId, entry.User.UserId);
                await hub.Clients.Group(group).UserLeft(new UserPresenceEvent(roomId, entry.User.UserId, entry.User.DisplayName));
            }
        }
    }

    private static readonly TimeSpan GroupChangeTimeout = TimeSpan.FromSeconds(2);

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Warning, "Removing connection {ConnectionId} from room {RoomId}'s group was not acknowledged in time")]
        public static partial void GroupRemovalUnacknowledged(ILogger logger, string connectionId, string roomId);

        [LoggerMessage(1, LogLevel.Information, "Removed connection {ConnectionId} from room {RoomId}: {Reason}")]
        public static partial void Evicted(ILogger logger, string connectionId, string roomId, string reason);
    }
}
