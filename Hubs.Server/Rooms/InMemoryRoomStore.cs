namespace Hubs.Server.Rooms;

/// <summary>Single-node room store. One lock guards a room's settings and grants so each call is atomic.</summary>
internal sealed class InMemoryRoomStore : IRoomStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _rooms = new(StringComparer.Ordinal);

    public Task<bool> TryCreateAsync(RoomRecord room, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryAdd(room.RoomId, new Entry(room)));
        }
    }

    public Task<RoomRecord?> GetAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryGetValue(roomId, out var entry) ? entry.Room : null);
        }
    }

    public Task<(RoomRecord? Room, RoomGrants Grants)> GetWithGrantsAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.TryGetValue(roomId, out var entry)
                ? ((RoomRecord?)entry.Room, entry.GrantsOf(userId))
                : (null, RoomGrants.None));
        }
    }

    public Task<IReadOnlyList<(RoomRecord Room, RoomGrants Grants)>> ListAsync(string userId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<(RoomRecord, RoomGrants)> rooms = _rooms.Values.Select(e => (e.Room, e.GrantsOf(userId))).ToArray();
            return Task.FromResult(rooms);
        }
    }

    public Task<bool> TryUpdateAsync(RoomRecord room, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(room.RoomId, out var entry))
            {
                return Task.FromResult(false);
            }

            entry.Room = room;
            return Task.FromResult(true);
        }
    }

    public Task<bool> DeleteAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_rooms.Remove(roomId));
        }
    }

    public Task<bool> InviteAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        Change(roomId, entry =>
        {
            entry.Invited.Add(userId);
            entry.Kicked.Remove(userId);
        });

    public Task<bool> RevokeInviteAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        Change(roomId, entry => entry.Invited.Remove(userId));

    public Task<bool> KickAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        Change(roomId, entry =>
        {
            entry.Kicked.Add(userId);
            entry.Invited.Remove(userId);
        });

    public Task<IReadOnlyList<string>> GetInvitesAsync(string roomId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            IReadOnlyList<string> invites = _rooms.TryGetValue(roomId, out var entry)
                ? entry.Invited.Order(StringComparer.Ordinal).ToArray()
                : [];
            return Task.FromResult(invites);
        }
    }

    private Task<bool> Change(string roomId, Action<Entry> change)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(roomId, out var entry))
            {
                return Task.FromResult(false);
            }

            change(entry);
            return Task.FromResult(true);
        }
    }

    private sealed class Entry(RoomRecord room)
    {
        public RoomRecord Room { get; set; } = room;

        public HashSet<string> Invited { get; } = new(StringComparer.Ordinal);

        public HashSet<string> Kicked { get; } = new(StringComparer.Ordinal);

        public RoomGrants GrantsOf(string userId) => new(Invited.Contains(userId), Kicked.Contains(userId));
    }
}
