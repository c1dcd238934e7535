using Hubs.Contracts;
using Hubs.Server.Authorization;

namespace Hubs.Server.Presence;

/// <summary>
/// Single-node presence. One lock over small maps keeps every outcome atomic; every entry is removed when its last
/// connection goes, so maps return to their start size (T15, T22).
/// </summary>
internal sealed class InMemoryPresenceTracker : IPresenceTracker
{
    private readonly Lock _gate = new();

    // room -> connection -> entry
    private readonly Dictionary<string, Dictionary<string, PresenceEntry>> _rooms = new(StringComparer.Ordinal);

    // connection -> its user and the rooms it joined
    private readonly Dictionary<string, ConnectionState> _connections = new(StringComparer.Ordinal);

    // user -> status and number of open connections
    private readonly Dictionary<string, UserState> _users = new(StringComparer.Ordinal);

    public Task<bool> ConnectAsync(string connectionId, HubsUser user, int maxConnectionsPerUser, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(user.UserId, out var state))
            {
                _users[user.UserId] = state = new UserState();
            }
            else if (state.Connections.Count >= maxConnectionsPerUser)
            {
                return Task.FromResult(false);
            }

            state.Connections.Add(connectionId);
            _connections.TryAdd(connectionId, new ConnectionState(user.UserId));
            return Task.FromResult(true);
        }
    }

    public Task DisconnectAsync(string connectionId, string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_connections.Remove(connectionId, out var connection)
                && _users.TryGetValue(connection.UserId, out var state)
                && state.Connections.Remove(connectionId)
                && state.Connections.Count == 0)
            {
                _users.Remove(connection.UserId);
            }
        }

        return Task.CompletedTask;
    }

    public Task<JoinOutcome> JoinAsync(string roomId, string connectionId, HubsUser user, int maxMembers, int maxRoomsPerConnection, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var connections))
            {
                connections = new Dictionary<string, PresenceEntry>(StringComparer.Ordinal);
            }

            if (connections.ContainsKey(connectionId))
            {
                return Task.FromResult(new JoinOutcome(JoinStatus.AlreadyJoined, false));
            }

            if (_connections.TryGetValue(connectionId, out var joining) && joining.Rooms.Count >= maxRoomsPerConnection)
            {
                return Task.FromResult(new JoinOutcome(JoinStatus.TooManyRooms, false));
            }

            var firstOfUser = !connections.Values.Any(e => e.User.UserId == user.UserId);
            if (firstOfUser && CountUsers(connections) >= maxMembers)
            {
                return Task.FromResult(new JoinOutcome(JoinStatus.RoomFull, false));
            }

            connections[connectionId] = new PresenceEntry(connectionId, user);
            _rooms[roomId] = connections;
            if (_connections.TryGetValue(connectionId, out var connection))
            {
                connection.Rooms.Add(roomId);
            }

            return Task.FromResult(new JoinOutcome(JoinStatus.Joined, firstOfUser));
        }
    }

    public Task<LeaveOutcome> LeaveAsync(string roomId, string connectionId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var connections) || !connections.Remove(connectionId, out var entry))
            {
                return Task.FromResult(new LeaveOutcome(false, false, null));
            }

            if (connections.Count == 0)
            {
                _rooms.Remove(roomId);
            }

            if (_connections.TryGetValue(connectionId, out var connection))
            {
                connection.Rooms.Remove(roomId);
            }

            var lastOfUser = !connections.Values.Any(e => e.User.UserId == entry.User.UserId);
            return Task.FromResult(new LeaveOutcome(true, lastOfUser, entry.User));
        }
    }

    /// <summary>One node: the group removal and the notice are local and cannot be lost on the way.</summary>
    public Task<LeaveOutcome> EvictAsync(string roomId, PresenceEntry entry, string reason, CancellationToken cancellationToken) =>
        LeaveAsync(roomId, entry.ConnectionId, cancellationToken);

    public Task EvictionDeliveredAsync(string roomId, PresenceEntry entry, string reason, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<bool> IsJoinedAsync(string roomId, string connectionId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryGetValue(roomId, out var connections) && connections.ContainsKey(connectionId));
        }
    }

    public Task<IReadOnlyList<PresenceEntry>> GetConnectionsAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<PresenceEntry> entries = _rooms.TryGetValue(roomId, out var connections) ? connections.Values.ToArray() : [];
            return Task.FromResult(entries);
        }
    }

    public Task<IReadOnlyList<string>> GetRoomsAsync(string connectionId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<string> rooms = _connections.TryGetValue(connectionId, out var connection) ? connection.Rooms.ToArray() : [];
            return Task.FromResult(rooms);
        }
    }

    public Task<IReadOnlyList<MemberInfo>> GetMembersAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<MemberInfo> members = _rooms.TryGetValue(roomId, out var connections)
                ? connections.Values
                    .DistinctBy(e => e.User.UserId)
                    .OrderBy(e => e.User.UserId, StringComparer.Ordinal)
                    .Select(e => new MemberInfo(e.User.UserId, e.User.DisplayName, StatusOf(e.User.UserId)))
                    .ToArray()
                : [];
            return Task.FromResult(members);
        }
    }

    public Task<int> CountMembersAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryGetValue(roomId, out var connections) ? CountUsers(connections) : 0);
        }
    }

    public Task<int> CountConnectionsAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryGetValue(roomId, out var connections) ? connections.Count : 0);
        }
    }

    public Task<IReadOnlyList<string>> SetStatusAsync(string userId, string status, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(userId, out var state))
            {
                return Task.FromResult<IReadOnlyList<string>>([]);
            }

            state.Status = status;
            IReadOnlyList<string> rooms = state.Connections
                .SelectMany(c => _connections.TryGetValue(c, out var connection) ? connection.Rooms : [])
                .Distinct(StringComparer.Ordinal)
                .ToArray();
            return Task.FromResult(rooms);
        }
    }

    /// <summary>Entries held in all maps together; zero when nobody is connected.</summary>
    internal int EntryCount
    {
        get
        {
            lock (_gate)
            {
                return _rooms.Count + _connections.Count + _users.Count;
            }
        }
    }

    private string StatusOf(string userId) =>
        _users.TryGetValue(userId, out var state) ? state.Status : PresenceStatus.Online;

    private static int CountUsers(Dictionary<string, PresenceEntry> connections) =>
        connections.Values.Select(e => e.User.UserId).Distinct(StringComparer.Ordinal).Count();

    private sealed class ConnectionState(string userId)
    {
        public string UserId { get; } = userId;

        public HashSet<string> Rooms { get; } = new(StringComparer.Ordinal);
    }

    private sealed class UserState
    {
        public HashSet<string> Connections { get; } = new(StringComparer.Ordinal);

        public string Status { get; set; } = PresenceStatus.Online;
    }
}
