using Hubs.Contracts;
using Hubs.Server.Authorization;

namespace Hubs.Server.Presence;

/// <summary>One connection's place in a room; <paramref name="Node"/> holds it, where nodes share state.</summary>
internal sealed record PresenceEntry(string ConnectionId, HubsUser User, string? Node = null);

internal enum JoinStatus
{
    Joined,
    AlreadyJoined,
    RoomFull,
    TooManyRooms,
}

/// <summary>
/// A room's presence after a change: its distinct members, whether it reports presence by digests (contract version 2),
/// and whether this very change switched it (the change that crosses the threshold is reported as an event).
/// </summary>
internal readonly record struct PresenceShift(int MemberCount, bool Digest, bool Switched);

/// <summary>Outcome of a join: <see cref="FirstOfUser"/> is true for exactly one connection of a user (T18).</summary>
internal readonly record struct JoinOutcome(JoinStatus Status, bool FirstOfUser, PresenceShift Shift = default);

/// <summary>
/// Outcome of a leave: <see cref="LastOfUser"/> is true for exactly one connection of a user. A leave that takes a
/// digest room back below half the threshold carries <see cref="FinalDigest"/>: the changes not yet reported, which
/// go out before the switch is announced.
/// </summary>
internal readonly record struct LeaveOutcome(bool Removed, bool LastOfUser, HubsUser? User, PresenceShift Shift = default, PresenceDigestEvent? FinalDigest = null);

/// <summary>A room's size and presence mode.</summary>
internal readonly record struct RoomSize(int Members, bool Digest)
{
    public string Mode => Digest ? PresenceModes.Digest : PresenceModes.Events;
}

/// <summary>A bounded first look at a room's members (online ones first) with its exact size.</summary>
internal sealed record JoinMembers(IReadOnlyList<MemberInfo> Members, RoomSize Size)
{
    public bool Complete => Members.Count >= Size.Members;
}

/// <summary>Rooms to tell of a status change: by an event, or in their next digest.</summary>
internal sealed record StatusOutcome(IReadOnlyList<string> EventRooms, IReadOnlyList<string> DigestRooms)
{
    public static readonly StatusOutcome None = new([], []);
}

/// <summary>A digest taken (or nothing to send), and when to look again if the room's interval has not yet passed.</summary>
internal readonly record struct DigestTake(PresenceDigestEvent? Digest, TimeSpan? RetryAfter);

/// <summary>Whether a typing signal goes out, and the typist's connections (all of them, wherever they are) to leave out.</summary>
internal readonly record struct TypingAdmission(bool Forward, IReadOnlyList<string> TypistConnections);

/// <summary>
/// Which connections are in which rooms, and the users behind them. Each call decides its outcome atomically, so
/// that the first join and last leave of a user are announced exactly once without check-then-act by callers.
/// </summary>
internal interface IPresenceTracker
{
    /// <summary>
    /// Records a new connection of a user unless the user already has <paramref name="maxConnectionsPerUser"/>
    /// connections (across the cluster where state is shared); false when refused (T15).
    /// </summary>
    Task<bool> ConnectAsync(string connectionId, HubsUser user, int maxConnectionsPerUser, CancellationToken cancellationToken);

    /// <summary>Forgets a connection; callers leave its rooms first (see <see cref="ConnectionDeparture"/>).</summary>
    Task DisconnectAsync(string connectionId, string userId, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the connection to the room unless the room already holds <paramref name="maxMembers"/> other users or the
    /// connection is already in <paramref name="maxRoomsPerConnection"/> rooms (T15).
    /// </summary>
    Task<JoinOutcome> JoinAsync(string roomId, string connectionId, HubsUser user, int maxMembers, int maxRoomsPerConnection, CancellationToken cancellationToken);

    Task<LeaveOutcome> LeaveAsync(string roomId, string connectionId, CancellationToken cancellationToken);

    /// <summary>
    /// A leave imposed on the connection (kick, revoke, delete). Where nodes share state, the removal is also recorded
    /// for the node that holds the connection until <see cref="EvictionDeliveredAsync"/>: if taking it out of the
    /// room's group or telling it fails on the way (Redis goes away, that node does not acknowledge), the holder does
    /// both itself, so that an evicted connection never goes on receiving the room (T8, T27).
    /// </summary>
    Task<LeaveOutcome> EvictAsync(string roomId, PresenceEntry entry, string reason, CancellationToken cancellationToken);

    /// <summary>The evicted connection is out of the room's group and was told: the record is done with.</summary>
    Task EvictionDeliveredAsync(string roomId, PresenceEntry entry, string reason, CancellationToken cancellationToken);

    Task<bool> IsJoinedAsync(string roomId, string connectionId, CancellationToken cancellationToken);

    Task<IReadOnlyList<PresenceEntry>> GetConnectionsAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>One user's connections in the room; reads the user's few connections, not the room's.</summary>
    Task<IReadOnlyList<PresenceEntry>> GetUserConnectionsAsync(string roomId, string userId, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> GetRoomsAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>Distinct users in the room with their status, ascending by user id (a small room's whole list).</summary>
    Task<IReadOnlyList<MemberInfo>> GetMembersAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>At most <paramref name="limit"/> members, online ones first, with the room's exact size; O(limit), not O(members).</summary>
    Task<JoinMembers> GetJoinMembersAsync(string roomId, int limit, CancellationToken cancellationToken);

    /// <summary>Members ascending by user id (ordinal) after <paramref name="afterUserId"/>; O(limit), not O(members).</summary>
    Task<MembersPage> GetMembersPageAsync(string roomId, string? afterUserId, int limit, CancellationToken cancellationToken);

    Task<RoomSize> GetSizeAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Connections in the room (a user with two connections counts twice).</summary>
    Task<int> CountConnectionsAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a connected user's status. Rooms in events mode are returned to be told; in digest rooms the change is
    /// recorded for their next digest (nothing when the status did not change).
    /// </summary>
    Task<StatusOutcome> SetStatusAsync(string userId, string status, CancellationToken cancellationToken);

    /// <summary>
    /// Takes a digest room's net changes since its previous digest, unless that was less than
    /// <paramref name="interval"/> ago (cluster-wide): then <see cref="DigestTake.RetryAfter"/> says when to look again.
    /// Each change is taken once, by whichever node asks first.
    /// </summary>
    Task<DigestTake> TakeDigestAsync(string roomId, TimeSpan interval, CancellationToken cancellationToken);

    /// <summary>
    /// A typing signal in the room: always forwarded in an events room; in a digest room only for at most
    /// <see cref="LargeRoomBounds.TypistsPerSecond"/> distinct typists in any one-second window, cluster-wide.
    /// </summary>
    Task<TypingAdmission> AdmitTypingAsync(string roomId, string userId, CancellationToken cancellationToken);
}
