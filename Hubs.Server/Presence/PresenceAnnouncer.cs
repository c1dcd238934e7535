using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Rooms;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Presence;

/// <summary>
/// The one place a presence change is told to a room: by its event in a room below the digest threshold, or in the
/// room's next digest past it (contract version 2). The tracker decided atomically which change is whose to report,
/// so each join and leave of a user is reported once, cluster-wide, one way or the other. A switch of mode is
/// announced by <c>RoomUpdated</c>; a switch back is preceded by the changes not yet reported, in one last digest.
/// </summary>
internal sealed class PresenceAnnouncer(IHubContext<RoomHub, IRoomClient> hub, PresenceDigests digests, IRoomStore rooms, TypingThrottle typing)
{
    /// <summary>A join; <paramref name="room"/> is the room as the caller last read it, for the <c>RoomUpdated</c> of a switch (read when null).</summary>
    public async Task JoinedAsync(string roomId, HubsUser user, JoinOutcome outcome, RoomRecord? room, CancellationToken cancellationToken)
    {
        if (outcome.Status != JoinStatus.Joined || !outcome.FirstOfUser)
        {
            return;
        }

        if (outcome.Shift is { Digest: true, Switched: false })
        {
            digests.Schedule(roomId);
            return;
        }

        // The join that reaches the threshold is still reported by its event, then the switch.
        await Room(roomId).UserJoined(new UserPresenceEvent(roomId, user.UserId, user.DisplayName));
        if (outcome.Shift.Switched)
        {
            await ModeAsync(roomId, outcome.Shift, room, cancellationToken);
        }
    }

    /// <summary>A leave; <paramref name="announceUser"/> is false for the silent undo of a join nobody heard of (a switch it causes is still told).</summary>
    public async Task LeftAsync(string roomId, LeaveOutcome outcome, bool announceUser, CancellationToken cancellationToken)
    {
        if (outcome is not { Removed: true, LastOfUser: true, User: { } user })
        {
            return;
        }

        typing.Forget(roomId, user.UserId);
        if (outcome.FinalDigest is { } final)
        {
            await Room(roomId).PresenceDigest(final);
            await ModeAsync(roomId, outcome.Shift, null, cancellationToken);
        }
        else if (outcome.Shift.Digest)
        {
            digests.Schedule(roomId);
        }
        else if (announceUser)
        {
            await Room(roomId).UserLeft(new UserPresenceEvent(roomId, user.UserId, user.DisplayName));
        }
    }

    /// <summary>A join undone before anybody heard of it: only a switch of mode it caused is told.</summary>
    public Task JoinUndoneAsync(string roomId, JoinOutcome join, RoomRecord room, CancellationToken cancellationToken) =>
        join.Shift.Switched ? ModeAsync(roomId, join.Shift, room, cancellationToken) : Task.CompletedTask;

    public async Task StatusAsync(string userId, string status, StatusOutcome outcome)
    {
        foreach (var roomId in outcome.EventRooms)
        {
            await Room(roomId).PresenceChanged(new PresenceChangedEvent(roomId, userId, status));
        }

        foreach (var roomId in outcome.DigestRooms)
        {
            digests.Schedule(roomId);
        }
    }

    private async Task ModeAsync(string roomId, PresenceShift shift, RoomRecord? room, CancellationToken cancellationToken)
    {
        room ??= await rooms.GetAsync(roomId, cancellationToken);
        if (room is not null)
        {
            await Room(roomId).RoomUpdated(room.ToInfo(shift.MemberCount, shift.Digest));
        }
    }

    private IRoomClient Room(string roomId) => hub.Clients.Group(RoomGroups.For(roomId));
}
