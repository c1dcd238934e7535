using Hubs.Contracts;
using Hubs.Server.Lifecycle;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.Rooms;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Keeps this node's presence honest in a cluster. Every third of the presence timeout, and at once when its Redis
/// connection comes back, it heartbeats a key whose lifetime is two such periods, then reconciles its own entries with
/// the connections open here, then reaps nodes whose heartbeat is gone (T20).
/// </summary>
/// <remarks>
/// A missing heartbeat is evidence of death only when this node saw Redis, unbroken, for a whole presence timeout
/// before it looked (<see cref="RedisContinuity"/>): after an outage every node's heartbeat has lapsed, and each gets
/// that long to write it again before anyone reaps it (T27). A node whose heartbeat lapsed while it lived writes it
/// again and goes on: its entries are where they were, and nobody heard anything. A node that was reaped anyway (it
/// lost Redis alone, a partition) or whose entries Redis lost finds its open connections missing from its entries and
/// closes them with a close message that allows reconnecting: a connection is either in its rooms or is told to come
/// back and join them again, never left in a room's group without its presence. In the same round it completes the
/// evictions of its connections whose delivery failed on the way (<see cref="RoomEvictions.CompleteAsync"/>).
/// </remarks>
internal sealed partial class NodeLiveness(
    RedisGateway redis,
    RedisKeys keys,
    NodeIdentity node,
    RedisPresenceTracker presence,
    RoomEvictions evictions,
    ConnectionDeparture departure,
    LocalConnections local,
    NodeDrain drain,
    HubsMetrics metrics,
    IConnectionMultiplexer multiplexer,
    IOptions<PresenceOptions> options,
    TimeProvider time,
    ILogger<NodeLiveness> logger) : BackgroundService
{
    /// <summary>The close text of a connection whose shared presence was gone; the client reconnects and rejoins.</summary>
    public const string PresenceLostCloseText = $"{ErrorCodes.Unavailable}: this connection's presence was lost, reconnect";

    private static readonly TimeSpan ReaperLease = TimeSpan.FromSeconds(60);

    /// <summary>Every this many rounds the entries are compared one by one even when their count matches.</summary>
    private const int FullReconcileEvery = 10;

    private readonly RedisContinuity _continuity = new(time);
    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.Value.TimeoutSeconds);
    private readonly TimeSpan _period = TimeSpan.FromSeconds(options.Value.TimeoutSeconds) / 3;
    private TaskCompletionSource _wake = NewWake();
    private bool _reconcileNext = true;
    private int _rounds;
    private int _reapingRounds;
    private HashSet<PendingEviction> _evictionsSeen = [];

    /// <summary>Rounds since start whose heartbeat was written.</summary>
    public int Rounds => Volatile.Read(ref _rounds);

    /// <summary>Rounds completed since start in which this node was entitled to reap (its view of Redis unbroken for a presence timeout).</summary>
    public int ReapingRounds => Volatile.Read(ref _reapingRounds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Started(logger, node.Id);
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // A wake during the round asks for another round at once.
                Interlocked.Exchange(ref _wake, NewWake());
                await RoundAsync(stoppingToken);
                await Task.WhenAny(Task.Delay(_period, time, stoppingToken), Volatile.Read(ref _wake).Task);
            }
        }
        finally
        {
            multiplexer.ConnectionFailed -= OnConnectionFailed;
            multiplexer.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private async Task RoundAsync(CancellationToken cancellationToken)
    {
        (bool Lapsed, long Recorded, long Evictions, long Reaped) beat;
        try
        {
            beat = await HeartbeatAsync(cancellationToken);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Redis failures are logged and counted by the gateway. Whatever this node saw of Redis until now proves
            // nothing any more.
            _continuity.Break();
            _reconcileNext = true;
            Log.RoundFailed(logger, error.GetType().Name);
            return;
        }

        var first = Interlocked.Increment(ref _rounds) == 1;
        _continuity.Confirm();
        if (beat.Lapsed && !first)
        {
            Log.HeartbeatLapsed(logger, node.Id);
        }

        try
        {
            // What this round announces (a stale entry's departure, a dead node's users leaving) waits until this node
            // has seen Redis unbroken for a presence timeout: by then the other nodes are back too, and subscribed to
            // hear it, and their heartbeats are what they really are. Closing connections whose presence was lost waits
            // one period, for the nodes that will hear them rejoin.
            var settled = _continuity.UnbrokenFor(_timeout);
            if (_continuity.UnbrokenFor(_period)
                && (_reconcileNext || beat.Lapsed || beat.Reaped > 0 || beat.Recorded != local.Count || _rounds % FullReconcileEvery == 0))
            {
                await ReconcileAsync(departStale: settled, reapedAny: beat.Reaped > 0, cancellationToken);
                _reconcileNext = !settled;
            }

            _evictionsSeen = beat.Evictions > 0 ? await CompleteEvictionsAsync(cancellationToken) : [];
            if (settled)
            {
                await ReapDeadNodesAsync(cancellationToken);
                Interlocked.Increment(ref _reapingRounds);
            }
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Redis failures are logged and counted by the gateway; the next round tries again.
            _reconcileNext = true;
            Log.RoundFailed(logger, error.GetType().Name);
        }
    }

    private Task<(bool Lapsed, long Recorded, long Evictions, long Reaped)> HeartbeatAsync(CancellationToken cancellationToken) =>
        redis.LivenessWriteAsync("node.heartbeat", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.Heartbeat,
                [keys.NodeAlive(node.Id), keys.Nodes, keys.NodeConnections(node.Id), keys.NodeReaper(node.Id), keys.NodeEvictions(node.Id), keys.NodeReaped(node.Id)],
                [time.GetUtcNow().ToUnixTimeMilliseconds(), (long)(_period * 2).TotalMilliseconds, node.Id]))!;
            return ((long)result[0] == 1, (long)result[1], (long)result[2], (long)result[3]);
        }, cancellationToken);

    /// <summary>
    /// This node's entries against its open connections: an entry without a connection is stale (its departure failed
    /// while Redis was away) and departs when <paramref name="departStale"/>; a present connection without an entry, or
    /// one a survivor marked as reaped, lost its presence and is closed so that it reconnects and joins its rooms again.
    /// </summary>
    private async Task ReconcileAsync(bool departStale, bool reapedAny, CancellationToken cancellationToken)
    {
        // Listed before the entries are read: a connection that departs in between is no longer present when closed.
        var present = local.PresentIds();
        var reaped = reapedAny
            ? (await redis.ReadAsync("node.reaped", db => db.SetMembersAsync(keys.NodeReaped(node.Id)), cancellationToken)).Select(v => v.ToString()).ToHashSet(StringComparer.Ordinal)
            : [];
        var entries = await presence.GetNodeConnectionsAsync(node.Id, cancellationToken);
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var connectionId = entry.Name.ToString();
            recorded.Add(connectionId);
            if (departStale && !local.Contains(connectionId))
            {
                await departure.DepartAsync(connectionId, entry.Value.ToString(), cancellationToken);
            }
        }

        var lost = present.Where(id => (!recorded.Contains(id) || reaped.Contains(id)) && local.IsPresent(id)).ToArray();
        if (reapedAny)
        {
            // Back after a reap began: the marks have served (the connections go now; a reap under way has stopped,
            // and what it did not finish, these connections' own departures do).
            await redis.WriteAsync("node.reaped", db => db.KeyDeleteAsync(keys.NodeReaped(node.Id)), cancellationToken);
        }

        if (lost.Length == 0)
        {
            return;
        }

        Log.PresenceLost(logger, lost.Length);
        metrics.PresenceLost(lost.Length);
        await Task.WhenAll(lost.Select(drain.Find).OfType<HubConnectionContext>()
            .Select(c => NodeDrain.CloseNowAsync(c, new CloseMessage(PresenceLostCloseText, allowReconnect: true))));
    }

    /// <summary>
    /// Evictions of this node's connections whose delivery (out of the group, told) is not known to have happened. One
    /// seen in the previous round too is completed here: the evicting node had a whole period to finish it itself.
    /// Returns the ones left for the next round.
    /// </summary>
    private async Task<HashSet<PendingEviction>> CompleteEvictionsAsync(CancellationToken cancellationToken)
    {
        var waiting = new HashSet<PendingEviction>();
        foreach (var eviction in await presence.GetEvictionsAsync(node.Id, cancellationToken))
        {
            if (!_evictionsSeen.Contains(eviction))
            {
                waiting.Add(eviction);
                continue;
            }

            if (local.Contains(eviction.ConnectionId))
            {
                await evictions.CompleteAsync(eviction.ConnectionId, eviction.RoomId, eviction.Reason, cancellationToken);
            }

            await presence.EvictionCompletedAsync(node.Id, eviction, cancellationToken);
        }

        return waiting;
    }

    private async Task ReapDeadNodesAsync(CancellationToken cancellationToken)
    {
        var nodes = await redis.ReadAsync("node.list", db => db.SetMembersAsync(keys.Nodes), cancellationToken);
        foreach (var other in nodes.Select(n => n.ToString()).Where(n => n != node.Id))
        {
            // Fencing: only the survivor that takes the lease removes the dead node's entries, and only while it is dead.
            var claimed = await redis.WriteAsync("node.reap", async db => (long)await db.ScriptEvaluateAsync(
                RedisScripts.ClaimReap,
                [keys.NodeAlive(other), keys.NodeReaper(other)],
                [node.Id, (long)ReaperLease.TotalMilliseconds]) == 1, cancellationToken);
            if (claimed)
            {
                await ReapAsync(other, cancellationToken);
            }
        }
    }

    private async Task ReapAsync(string other, CancellationToken cancellationToken)
    {
        var reaped = 0;
        foreach (var entry in await presence.GetNodeConnectionsAsync(other, cancellationToken))
        {
            var step = await redis.WriteAsync("node.reap", async db => (long)await db.ScriptEvaluateAsync(
                RedisScripts.ReapConnection,
                [keys.NodeAlive(other), keys.NodeReaped(other)],
                [entry.Name]), cancellationToken);
            if (step < 0)
            {
                // It heartbeats again: it reconciles its own connections, including any this reap already took.
                Log.ReapStopped(logger, other, reaped);
                return;
            }

            // Its entry goes only once it has departed: a reap that fails here is taken up by the next, after the lease.
            await departure.DepartAsync(entry.Name.ToString(), entry.Value.ToString(), cancellationToken);
            await redis.WriteAsync("node.reap", db => db.HashDeleteAsync(keys.NodeConnections(other), entry.Name), cancellationToken);
            reaped++;
        }

        // The lease is left to expire, so a survivor that read the node list before this removal cannot reap again.
        await redis.WriteAsync("node.reap", db => db.ScriptEvaluateAsync(
            RedisScripts.ForgetNode,
            [keys.NodeAlive(other), keys.NodeConnections(other), keys.Nodes, keys.NodeEvictions(other), keys.NodeReaped(other)],
            [other]), cancellationToken);
        metrics.NodeReaped();
        Log.NodeReaped(logger, other, reaped);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // Connections depart through their own disconnects; whatever is left (a departure that failed), a survivor
            // reaps at once instead of after the heartbeat's TTL. After a drain the handed-off connections are left on
            // purpose: a survivor reaps them when the presence timeout has passed, by which time their users are
            // back on other nodes (no UserLeft) or really gone (UserLeft).
            var handoff = _timeout - _period;
            await redis.WriteAsync("node.stop", db => drain.HandedOffCount > 0
                ? db.KeyExpireAsync(keys.NodeAlive(node.Id), handoff)
                : db.KeyDeleteAsync(keys.NodeAlive(node.Id)), cancellationToken);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Log.RoundFailed(logger, error.GetType().Name);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => _continuity.Break();

    /// <summary>Back: heartbeat now, so that the others, who count from their own return, find this node alive.</summary>
    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => Volatile.Read(ref _wake).TrySetResult();

    private static TaskCompletionSource NewWake() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Node {NodeId} joined the cluster")]
        public static partial void Started(ILogger logger, string nodeId);

        [LoggerMessage(2, LogLevel.Warning, "Node {NodeId} stopped heartbeating; removed its {ConnectionCount} connections from presence")]
        public static partial void NodeReaped(ILogger logger, string nodeId, int connectionCount);

        [LoggerMessage(3, LogLevel.Debug, "Liveness round failed ({ErrorType}); retrying next period")]
        public static partial void RoundFailed(ILogger logger, string errorType);

        [LoggerMessage(4, LogLevel.Warning, "This node's heartbeat ({NodeId}) had lapsed while it ran (Redis was away for longer than its lifetime); written again, entries kept")]
        public static partial void HeartbeatLapsed(ILogger logger, string nodeId);

        [LoggerMessage(5, LogLevel.Warning, "{ConnectionCount} open connections had lost their shared presence (reaped in a partition, or lost by Redis); closed so that they reconnect and rejoin")]
        public static partial void PresenceLost(ILogger logger, int connectionCount);

        [LoggerMessage(6, LogLevel.Warning, "Node {NodeId} heartbeats again; stopped reaping it after {ConnectionCount} connections")]
        public static partial void ReapStopped(ILogger logger, string nodeId, int connectionCount);
    }
}
