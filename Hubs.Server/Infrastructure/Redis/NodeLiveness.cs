using Hubs.Server.Lifecycle;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.Telemetry;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Keeps this node's presence honest in a cluster. Every third of the presence timeout it: heartbeats a key whose TTL
/// is two such periods; removes this node's entries whose connections are gone here (their departure failed while
/// Redis was away); and removes the entries of nodes whose heartbeat expired, fenced so that one survivor does it
/// once (T20). A dead node's users therefore leave presence within <c>Hubs:Presence:TimeoutSeconds</c>.
/// </summary>
internal sealed partial class NodeLiveness(
    RedisGateway redis,
    RedisKeys keys,
    NodeIdentity node,
    RedisPresenceTracker presence,
    ConnectionDeparture departure,
    LocalConnections local,
    NodeDrain drain,
    HubsMetrics metrics,
    IOptions<PresenceOptions> options,
    TimeProvider time,
    ILogger<NodeLiveness> logger) : BackgroundService
{
    private static readonly TimeSpan ReaperLease = TimeSpan.FromSeconds(60);

    private readonly TimeSpan _timeout = TimeSpan.FromSeconds(options.Value.TimeoutSeconds);
    private readonly TimeSpan _period = TimeSpan.FromSeconds(options.Value.TimeoutSeconds) / 3;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Log.Started(logger, node.Id);
        using var timer = new PeriodicTimer(_period, time);
        do
        {
            try
            {
                await HeartbeatAsync(stoppingToken);
                await RemoveStaleLocalEntriesAsync(stoppingToken);
                await ReapDeadNodesAsync(stoppingToken);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                // Redis failures are logged and counted by the gateway; the next round tries again.
                Log.RoundFailed(logger, error.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private Task HeartbeatAsync(CancellationToken cancellationToken) =>
        redis.WriteAsync("node.heartbeat", async db =>
        {
            var batch = db.CreateBatch();
            var alive = batch.StringSetAsync(keys.NodeAlive(node.Id), time.GetUtcNow().ToUnixTimeMilliseconds(), _period * 2);
            var member = batch.SetAddAsync(keys.Nodes, node.Id);
            batch.Execute();
            await Task.WhenAll(alive, member);
            return true;
        }, cancellationToken);

    private async Task RemoveStaleLocalEntriesAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in await presence.GetNodeConnectionsAsync(node.Id, cancellationToken))
        {
            if (!local.Contains(entry.Name!))
            {
                await departure.DepartAsync(entry.Name!, entry.Value!, cancellationToken);
            }
        }
    }

    private async Task ReapDeadNodesAsync(CancellationToken cancellationToken)
    {
        var nodes = await redis.ReadAsync("node.list", db => db.SetMembersAsync(keys.Nodes), cancellationToken);
        foreach (var other in nodes.Select(n => n.ToString()).Where(n => n != node.Id))
        {
            var alive = await redis.ReadAsync("node.alive", db => db.KeyExistsAsync(keys.NodeAlive(other)), cancellationToken);
            if (alive)
            {
                continue;
            }

            // Fencing: only the survivor that takes the lease removes the dead node's entries.
            var lease = await redis.WriteAsync("node.reap", db => db.StringSetAsync(keys.NodeReaper(other), node.Id, ReaperLease, When.NotExists), cancellationToken);
            if (!lease)
            {
                continue;
            }

            var connections = await presence.GetNodeConnectionsAsync(other, cancellationToken);
            foreach (var entry in connections)
            {
                await departure.DepartAsync(entry.Name!, entry.Value!, cancellationToken);
            }

            // The lease is left to expire, so a survivor that read the node list before this removal cannot reap again.
            await redis.WriteAsync("node.reap", async db =>
            {
                await db.KeyDeleteAsync(keys.NodeConnections(other));
                return await db.SetRemoveAsync(keys.Nodes, other);
            }, cancellationToken);
            metrics.NodeReaped();
            Log.NodeReaped(logger, other, connections.Length);
        }
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

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Node {NodeId} joined the cluster")]
        public static partial void Started(ILogger logger, string nodeId);

        [LoggerMessage(2, LogLevel.Warning, "Node {NodeId} stopped heartbeating; removed its {ConnectionCount} connections from presence")]
        public static partial void NodeReaped(ILogger logger, string nodeId, int connectionCount);

        [LoggerMessage(3, LogLevel.Debug, "Liveness round failed ({ErrorType}); retrying next period")]
        public static partial void RoundFailed(ILogger logger, string errorType);
    }
}
