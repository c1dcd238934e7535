using System.Collections.Concurrent;
using System.Text.Json;
using Hubs.Server.Rooms;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Room views kept on this node, so that the calls a member makes all day (<c>GetRoom</c>, history, typing, the first
/// look of a join) cost no Redis round trip. An entry goes when the room changes: every room write and every change of
/// its member count publishes the room id on one channel (in the same script where it can), each node drops its entry
/// on hearing it, and the writing node drops its own at once. Entries also age out after <see cref="MaxAge"/>, and
/// everything is dropped, and nothing cached, while the connection to Redis is down (what was missed is unknown) or
/// the subscription to that channel does not hold (a node started before its Redis caches nothing until it does).
/// </summary>
internal sealed class CachedRoomViews : IRoomViews, IHostedService
{
    /// <summary>Longest an entry is used: bounds the harm of a change notice that never arrived.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly RedisGateway _redis;
    private readonly RedisKeys _keys;
    private readonly IConnectionMultiplexer _multiplexer;
    private readonly RedisSubscriptions _subscriptions;
    private readonly TimeProvider _time;

    // No connection failure seen since the last restore; set at once by the multiplexer's events, while the
    // subscription's own state is known only once its SUBSCRIBE is answered.
    private volatile bool _connected = true;

    public CachedRoomViews(RedisGateway redis, RedisKeys keys, IConnectionMultiplexer multiplexer, RedisSubscriptions subscriptions, TimeProvider time)
    {
        _redis = redis;
        _keys = keys;
        _multiplexer = multiplexer;
        _subscriptions = subscriptions;
        _time = time;
    }

    /// <summary>Change notices reach this node: only then are entries kept and used.</summary>
    private bool Listening => _connected && _subscriptions.Holds(_keys.RoomChanges);

    public async ValueTask<RoomView> GetAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
        if (Listening && _entries.TryGetValue(roomId, out var cached) && cached.IsFresh(now, _time)
            && cached.State is { } known && cached.Grants.TryGetValue(userId, out var grants))
        {
            return new RoomView(known.Room, grants, known.MemberCount, known.Digest);
        }

        // The entry exists before the read, so a change notice arriving during the read removes it and the result
        // is not kept.
        var entry = Listening ? Claim(roomId, now) : null;
        var view = await ReadAsync(roomId, userId, cancellationToken);
        if (entry is not null && view.Room is not null && _entries.TryGetValue(roomId, out var current) && ReferenceEquals(current, entry))
        {
            Interlocked.CompareExchange(ref entry.State, new RoomState(view.Room, view.MemberCount ?? 0, view.Digest), null);
            entry.Grants[userId] = view.Grants;
        }

        return view;
    }

    /// <summary>Drops this node's entry for the room; called by the writers here, and on every change notice.</summary>
    public void Invalidate(string roomId) => _entries.TryRemove(roomId, out _);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _multiplexer.ConnectionFailed += OnConnectionFailed;
        _multiplexer.ConnectionRestored += OnConnectionRestored;
        _subscriptions.Add(_keys.RoomChanges, (_, roomId) => Invalidate(roomId!));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _connected = false;
        _multiplexer.ConnectionFailed -= OnConnectionFailed;
        _multiplexer.ConnectionRestored -= OnConnectionRestored;
        return Task.CompletedTask;
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        _connected = false;
        _entries.Clear();
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        _entries.Clear();
        _connected = true;
    }

    private Entry Claim(string roomId, long now)
    {
        if (_entries.TryGetValue(roomId, out var existing))
        {
            if (existing.IsFresh(now, _time))
            {
                return existing;
            }

            _entries.TryRemove(KeyValuePair.Create(roomId, existing));
        }
        else if (_entries.Count >= MaxEntries)
        {
            // Rooms come and go; a full cache starts over rather than tracking which entry is coldest.
            _entries.Clear();
        }

        return _entries.GetOrAdd(roomId, static (_, stamp) => new Entry(stamp), now);
    }

    private Task<RoomView> ReadAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        _redis.ReadAsync("room.view", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.GetRoomView,
                [_keys.Room(roomId), _keys.Invites(roomId), _keys.Kicks(roomId), _keys.RoomUsers(roomId), _keys.RoomDigest(roomId)],
                [userId]))!;
            var json = (RedisValue)result[0];
            return json.IsNullOrEmpty
                ? new RoomView(null, RoomGrants.None, 0)
                : new RoomView(
                    JsonSerializer.Deserialize<RoomRecord>(json.ToString()),
                    new RoomGrants((long)result[1] == 1, (long)result[2] == 1),
                    (int)(long)result[3],
                    (long)result[4] == 1);
        }, cancellationToken);

    private sealed record RoomState(RoomRecord Room, int MemberCount, bool Digest);

    private sealed class Entry(long created)
    {
        public RoomState? State;

        public ConcurrentDictionary<string, RoomGrants> Grants { get; } = new(StringComparer.Ordinal);

        public bool IsFresh(long now, TimeProvider time) => time.GetElapsedTime(created, now) < MaxAge;
    }
}
