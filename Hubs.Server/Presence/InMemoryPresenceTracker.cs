using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Presence;

/// <summary>
/// Single-node presence. One lock over small maps keeps every outcome atomic; every entry is removed when its last
/// connection goes, so maps return to their start size (T15, T22). Each room keeps its users in two ordered sets
/// (online, away), so a join, a bounded member list and a page cost the same in a room of 10 and of 10,000.
/// </summary>
internal sealed class InMemoryPresenceTracker(IOptions<PresenceOptions> options, TimeProvider time) : IPresenceTracker
{
    private readonly Lock _gate = new();
    private readonly PresenceOptions _options = options.Value;

    // room -> its presence
    private readonly Dictionary<string, RoomState> _rooms = new(StringComparer.Ordinal);

    // connection -> its user and the rooms it joined
    private readonly Dictionary<string, ConnectionState> _connections = new(StringComparer.Ordinal);

    // user -> status and open connections
    private readonly Dictionary<string, UserState> _users = new(StringComparer.Ordinal);

    public InMemoryPresenceTracker()
        : this(Microsoft.Extensions.Options.Options.Create(new PresenceOptions()), TimeProvider.System)
    {
    }

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
            _rooms.TryGetValue(roomId, out var room);
            if (room is not null && room.Connections.ContainsKey(connectionId))
            {
                return Task.FromResult(new JoinOutcome(JoinStatus.AlreadyJoined, false, room.Shift(switched: false)));
            }

            if (_connections.TryGetValue(connectionId, out var joining) && joining.Rooms.Count >= maxRoomsPerConnection)
            {
                return Task.FromResult(new JoinOutcome(JoinStatus.TooManyRooms, false));
            }

            room ??= new RoomState();
            var firstOfUser = !room.Users.ContainsKey(user.UserId);
            if (firstOfUser && room.Users.Count >= maxMembers)
            {
                return Task.FromResult(new JoinOutcome(JoinStatus.RoomFull, false));
            }

            room.Connections[connectionId] = new PresenceEntry(connectionId, user);
            _rooms[roomId] = room;
            joining?.Rooms.Add(roomId);
            if (!firstOfUser)
            {
                room.Users[user.UserId].Connections++;
                return Task.FromResult(new JoinOutcome(JoinStatus.Joined, false, room.Shift(switched: false)));
            }

            room.Users[user.UserId] = new RoomUser(user.DisplayName);
            (StatusOf(user.UserId) == PresenceStatus.Away ? room.Away : room.Online).Add(user.UserId);
            if (room.Digest)
            {
                room.Pending.Joined(user.UserId);
                return Task.FromResult(new JoinOutcome(JoinStatus.Joined, true, room.Shift(switched: false)));
            }

            // The join that crosses the threshold is still reported as an event; the ones after it, by digest, the first
            // an interval later, so that the switch's announcement comes first.
            room.Digest = _options.IsDigest(false, room.Users.Count);
            if (room.Digest)
            {
                room.LastDigest = time.GetTimestamp();
            }

            return Task.FromResult(new JoinOutcome(JoinStatus.Joined, true, room.Shift(switched: room.Digest)));
        }
    }

    public Task<LeaveOutcome> LeaveAsync(string roomId, string connectionId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room) || !room.Connections.Remove(connectionId, out var entry))
            {
                return Task.FromResult(new LeaveOutcome(false, false, null));
            }

            if (_connections.TryGetValue(connectionId, out var connection))
            {
                connection.Rooms.Remove(roomId);
            }

            var userId = entry.User.UserId;
            var member = room.Users[userId];
            if (--member.Connections > 0)
            {
                return Task.FromResult(new LeaveOutcome(true, false, entry.User, room.Shift(switched: false)));
            }

            room.Users.Remove(userId);
            var status = room.Away.Remove(userId) ? PresenceStatus.Away : PresenceStatus.Online;
            room.Online.Remove(userId);
            PresenceDigestEvent? final = null;
            var switched = false;
            if (room.Digest)
            {
                // The leave that takes the room back below half the threshold goes out in the room's last digest.
                room.Pending.Left(userId, status);
                if (!_options.IsDigest(true, room.Users.Count))
                {
                    final = room.Pending.Take(roomId, room.Users.Count, id => room.Member(id));
                    room.Digest = false;
                    room.LastDigest = 0;
                    switched = true;
                }
            }

            if (room.Connections.Count == 0)
            {
                _rooms.Remove(roomId);
            }

            return Task.FromResult(new LeaveOutcome(true, true, entry.User, room.Shift(switched), final));
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
            return Task.FromResult(_rooms.TryGetValue(roomId, out var room) && room.Connections.ContainsKey(connectionId));
        }
    }

    public Task<IReadOnlyList<PresenceEntry>> GetConnectionsAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<PresenceEntry> entries = _rooms.TryGetValue(roomId, out var room) ? room.Connections.Values.ToArray() : [];
            return Task.FromResult(entries);
        }
    }

    public Task<IReadOnlyList<PresenceEntry>> GetUserConnectionsAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<PresenceEntry> entries = _rooms.TryGetValue(roomId, out var room) && _users.TryGetValue(userId, out var user)
                ? user.Connections.Select(c => room.Connections.GetValueOrDefault(c)).OfType<PresenceEntry>().ToArray()
                : [];
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

    public async Task<IReadOnlyList<MemberInfo>> GetMembersAsync(string roomId, CancellationToken cancellationToken) =>
        (await GetMembersPageAsync(roomId, null, int.MaxValue - 1, cancellationToken)).Members;

    public Task<JoinMembers> GetJoinMembersAsync(string roomId, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                return Task.FromResult(new JoinMembers([], default));
            }

            var members = room.Online.Take(limit).Concat(room.Away.Take(Math.Max(0, limit - room.Online.Count))).Select(room.Member).ToArray();
            return Task.FromResult(new JoinMembers(members, room.Size));
        }
    }

    public Task<MembersPage> GetMembersPageAsync(string roomId, string? afterUserId, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                return Task.FromResult(new MembersPage([], null));
            }

            // One more than asked tells whether any follow.
            var ids = Merge(After(room.Online, afterUserId), After(room.Away, afterUserId)).Take(limit + 1).ToList();
            var more = ids.Count > limit;
            if (more)
            {
                ids.RemoveAt(ids.Count - 1);
            }

            return Task.FromResult(new MembersPage(ids.Select(room.Member).ToArray(), more ? ids[^1] : null));
        }
    }

    public Task<RoomSize> GetSizeAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryGetValue(roomId, out var room) ? room.Size : default);
        }
    }

    public Task<int> CountConnectionsAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryGetValue(roomId, out var room) ? room.Connections.Count : 0);
        }
    }

    public Task<StatusOutcome> SetStatusAsync(string userId, string status, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_users.TryGetValue(userId, out var state))
            {
                return Task.FromResult(StatusOutcome.None);
            }

            var previous = state.Status;
            state.Status = status;
            var events = new List<string>();
            var digests = new List<string>();
            foreach (var roomId in state.Connections
                .SelectMany(c => _connections.TryGetValue(c, out var connection) ? connection.Rooms : [])
                .Distinct(StringComparer.Ordinal))
            {
                var room = _rooms[roomId];
                if (previous != status)
                {
                    (previous == PresenceStatus.Away ? room.Away : room.Online).Remove(userId);
                    (status == PresenceStatus.Away ? room.Away : room.Online).Add(userId);
                }

                if (!room.Digest)
                {
                    events.Add(roomId);
                }
                else if (previous != status)
                {
                    room.Pending.StatusChanged(userId, previous);
                    digests.Add(roomId);
                }
            }

            return Task.FromResult(new StatusOutcome(events, digests));
        }
    }

    public Task<DigestTake> TakeDigestAsync(string roomId, TimeSpan interval, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var room) || !room.Digest || room.Pending.Count == 0)
            {
                return Task.FromResult(default(DigestTake));
            }

            var now = time.GetTimestamp();
            if (room.LastDigest != 0 && time.GetElapsedTime(room.LastDigest, now) is var since && since < interval)
            {
                return Task.FromResult(new DigestTake(null, interval - since));
            }

            room.LastDigest = now;
            return Task.FromResult(new DigestTake(room.Pending.Take(roomId, room.Users.Count, room.Member), null));
        }
    }

    public Task<TypingAdmission> AdmitTypingAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<string> connections = _users.TryGetValue(userId, out var user) ? user.Connections.ToArray() : [];
            var forward = !_rooms.TryGetValue(roomId, out var room) || !room.Digest || room.AdmitTypist(userId, time.GetTimestamp(), time);
            return Task.FromResult(new TypingAdmission(forward, connections));
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

    private static IEnumerable<string> After(SortedSet<string> set, string? afterUserId)
    {
        if (afterUserId is null)
        {
            return set;
        }

        // GetViewBetween is inclusive; the bound itself is skipped.
        return set.Count == 0 || StringComparer.Ordinal.Compare(afterUserId, set.Max) >= 0
            ? []
            : set.GetViewBetween(afterUserId, set.Max).SkipWhile(id => id == afterUserId);
    }

    /// <summary>Two ordinal-ascending sequences as one.</summary>
    private static IEnumerable<string> Merge(IEnumerable<string> first, IEnumerable<string> second)
    {
        using var a = first.GetEnumerator();
        using var b = second.GetEnumerator();
        bool hasA = a.MoveNext(), hasB = b.MoveNext();
        while (hasA || hasB)
        {
            if (hasA && (!hasB || StringComparer.Ordinal.Compare(a.Current, b.Current) < 0))
            {
                yield return a.Current;
                hasA = a.MoveNext();
            }
            else
            {
                yield return b.Current;
                hasB = b.MoveNext();
            }
        }
    }

    private sealed class RoomState
    {
        // Distinct typists forwarded in the last second of a digest room, each with its latest forwarded signal.
        private readonly List<(string UserId, long At)> _typists = [];

        public Dictionary<string, PresenceEntry> Connections { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, RoomUser> Users { get; } = new(StringComparer.Ordinal);

        public SortedSet<string> Online { get; } = new(StringComparer.Ordinal);

        public SortedSet<string> Away { get; } = new(StringComparer.Ordinal);

        public bool Digest { get; set; }

        public PendingPresence Pending { get; } = new();

        public long LastDigest { get; set; }

        public RoomSize Size => new(Users.Count, Digest);

        public PresenceShift Shift(bool switched) => new(Users.Count, Digest, switched);

        public MemberInfo Member(string userId) =>
            new(userId, Users[userId].DisplayName, Away.Contains(userId) ? PresenceStatus.Away : PresenceStatus.Online);

        public bool AdmitTypist(string userId, long now, TimeProvider time)
        {
            _typists.RemoveAll(t => time.GetElapsedTime(t.At, now) >= TimeSpan.FromSeconds(1));
            var known = _typists.FindIndex(t => t.UserId == userId);
            if (known < 0 && _typists.Count >= LargeRoomBounds.TypistsPerSecond)
            {
                return false;
            }

            // A typist stays counted for a second after its latest forwarded signal, so no one-second window holds more.
            if (known >= 0)
            {
                _typists.RemoveAt(known);
            }

            _typists.Add((userId, now));
            return true;
        }
    }

    private sealed class RoomUser(string displayName)
    {
        public string DisplayName { get; } = displayName;

        public int Connections { get; set; } = 1;
    }

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
