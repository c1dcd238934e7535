using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Presence;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Rooms;

/// <summary>
/// Takes connections out of a room at once when access changes (T8): out of presence, out of the SignalR group so
/// nothing more is delivered, told why, and the room told of users whose last connection went (<c>UserLeft</c> or its digest).
/// </summary>
internal sealed partial class RoomEvictions(
    IRoomStore rooms,
    IPresenceTracker presence,
    PresenceAnnouncer announcer,
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
        var entries = await presence.GetUserConnectionsAsync(roomId, userId, cancellationToken);
        await EvictAsync(roomId, entries, reason, cancellationToken);
    }

    /// <summary>
    /// Re-decides access for connections in the room (all, or one user's) against the room as stored now and removes
    /// those that lost it; used after a stricter update or a revoked invite.
    /// </summary>
    public async Task EvictUnauthorizedAsync(string roomId, string? userId, CancellationToken cancellationToken)
    {
        var entries = userId is null
            ? await presence.GetConnectionsAsync(roomId, cancellationToken)
            : await presence.GetUserConnectionsAsync(roomId, userId, cancellationToken);
        var lost = new List<PresenceEntry>();
        foreach (var entry in entries)
        {
            var (room, grants) = await rooms.GetWithGrantsAsync(roomId, entry.User.UserId, cancellationToken);
            if (room is null || !RoomAccess.CanJoin(room, entry.User, grants))
            {
                lost.Add(entry);
            }
        }

        await EvictAsync(roomId, lost, RemovalReasons.Revoked, cancellationToken);
    }

    /// <summary>
    /// Completes an eviction whose delivery failed on the way (see <see cref="IPresenceTracker.EvictAsync"/>); run by
    /// the node that holds the connection, which needs no acknowledgement from anyone to take it out of the group.
    /// </summary>
    public async Task CompleteAsync(string connectionId, string roomId, string reason, CancellationToken cancellationToken)
    {
        if (await presence.IsJoinedAsync(roomId, connectionId, cancellationToken))
        {
            // Allowed back in and joined again since: that join put it in the group, and nothing is left to undo.
            return;
        }

        await hub.Groups.RemoveFromGroupAsync(connectionId, RoomGroups.For(roomId), cancellationToken);
        await hub.Clients.Client(connectionId).RemovedFromRoom(new RemovedFromRoomEvent(roomId, reason));
        Log.EvictionCompleted(logger, connectionId, roomId, reason);
    }

    private async Task EvictAsync(string roomId, IReadOnlyList<PresenceEntry> entries, string reason, CancellationToken cancellationToken)
    {
        foreach (var entry in entries)
        {
            var outcome = await presence.EvictAsync(roomId, entry, reason, cancellationToken);
            if (!outcome.Removed)
            {
                // Left or was removed concurrently: whoever removed it announced it.
                continue;
            }

            if (await DeliverAsync(entry.ConnectionId, roomId, reason, cancellationToken))
            {
                try
                {
                    await presence.EvictionDeliveredAsync(roomId, entry, reason, cancellationToken);
                }
                catch (HubsErrorException)
                {
                    // The record stays: the holding node removes and tells the connection again, which changes nothing.
                }
            }

            Log.Evicted(logger, entry.ConnectionId, roomId, reason);
            await announcer.LeftAsync(roomId, outcome, announceUser: true, cancellationToken);
        }
    }

    /// <summary>
    /// Out of the room's group, then told. False when either did not certainly happen: the eviction's record stays and
    /// the node holding the connection completes it (<see cref="CompleteAsync"/>).
    /// </summary>
    private async Task<bool> DeliverAsync(string connectionId, string roomId, string reason, CancellationToken cancellationToken)
    {
        try
        {
            // Across nodes the backplane waits for the owning node's acknowledgement; a node that just died never
            // sends one, and its connection receives nothing anyway.
            await hub.Groups.RemoveFromGroupAsync(connectionId, RoomGroups.For(roomId), cancellationToken).WaitAsync(GroupChangeTimeout, cancellationToken);
            await hub.Clients.Client(connectionId).RemovedFromRoom(new RemovedFromRoomEvent(roomId, reason));
            return true;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Log.DeliveryFailed(logger, connectionId, roomId, error.GetType().Name);
            return false;
        }
    }

    private static readonly TimeSpan GroupChangeTimeout = TimeSpan.FromSeconds(2);

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Warning, "Removing connection {ConnectionId} from room {RoomId}'s group, or telling it, did not certainly happen ({ErrorType}); the node holding it completes the eviction")]
        public static partial void DeliveryFailed(ILogger logger, string connectionId, string roomId, string errorType);

        [LoggerMessage(3, LogLevel.Warning, "Completed the eviction of connection {ConnectionId} from room {RoomId} ({Reason}) whose delivery had failed on the way")]
        public static partial void EvictionCompleted(ILogger logger, string connectionId, string roomId, string reason);

        [LoggerMessage(1, LogLevel.Information, "Removed connection {ConnectionId} from room {RoomId}: {Reason}")]
        public static partial void Evicted(ILogger logger, string connectionId, string roomId, string reason);
    }
}
