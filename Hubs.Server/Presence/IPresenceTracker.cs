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

/// <summary>Outcome of a join: <see cref="FirstOfUser"/> is true for exactly one connection of a user (T18).</summary>
internal readonly record struct JoinOutcome(JoinStatus Status, bool FirstOfUser);

/// <summary>Outcome of a leave: <see cref="LastOfUser"/> is true for exactly one connection of a user.</summary>
internal readonly record struct LeaveOutcome(bool Removed, bool LastOfUser, HubsUser? User);

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

    Task<IReadOnlyList<string>> GetRoomsAsync(string connectionId, CancellationToken cancellationToken);

    /// <summary>Distinct users in the room with their status.</summary>
    Task<IReadOnlyList<MemberInfo>> GetMembersAsync(string roomId, CancellationToken cancellationToken);

    Task<int> CountMembersAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Connections in the room (a user with two connections counts twice).</summary>
    Task<int> CountConnectionsAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Sets a connected user's status; returns the rooms the user is in.</summary>
    Task<IReadOnlyList<string>> SetStatusAsync(string userId, string status, CancellationToken cancellationToken);
}
