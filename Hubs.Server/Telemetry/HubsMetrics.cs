using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Hubs.Server.Telemetry;

/// <summary>The <c>Hubs</c> meter and activity source.</summary>
internal sealed class HubsMetrics
{
    public const string MeterName = "Hubs";
    public const string ActivitySourceName = "Hubs";

    public static readonly ActivitySource ActivitySource = new(ActivitySourceName);

    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _invocations;
    private readonly Counter<long> _messagesAccepted;
    private readonly Counter<long> _messagesDelivered;
    private readonly Counter<long> _denials;
    private readonly Counter<long> _redisFailures;
    private readonly Counter<long> _nodesReaped;
    private readonly Counter<long> _slowConsumersDropped;
    private readonly UpDownCounter<long> _connectionsBehind;
    private readonly Counter<long> _silentPeersDropped;
    private readonly Counter<long> _connectionsDrained;
    private readonly Counter<long> _auditRecords;
    private readonly Counter<long> _presenceLost;

    public HubsMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _connections = meter.CreateUpDownCounter<long>("hubs.connections", "{connection}", "Open hub connections on this node.");
        _invocations = meter.CreateCounter<long>("hubs.invocations", "{invocation}", "Hub invocations by method and outcome (ok or an error code).");
        _messagesAccepted = meter.CreateCounter<long>("hubs.messages.accepted", "{message}", "Messages stored and broadcast.");
        _messagesDelivered = meter.CreateCounter<long>("hubs.messages.delivered", "{delivery}", "Message deliveries to connections (one per recipient connection).");
        _denials = meter.CreateCounter<long>("hubs.authorization.denials", "{denial}", "Refused connections, invocations and frames by error code or reason.");
        _redisFailures = meter.CreateCounter<long>("hubs.redis.failures", "{failure}", "Failed Redis calls by operation.");
        _nodesReaped = meter.CreateCounter<long>("hubs.nodes.reaped", "{node}", "Dead nodes whose presence this node removed.");
        _slowConsumersDropped = meter.CreateCounter<long>(
            "hubs.connections.slow_consumer_drops", "{connection}", "Connections dropped for falling behind, by reason (buffer or timeout).");
        _connectionsBehind = meter.CreateUpDownCounter<long>(
            "hubs.connections.behind", "{connection}", "Connections whose outgoing buffer is full, so further messages are held for them.");
        _silentPeersDropped = meter.CreateCounter<long>(
            "hubs.connections.silent_drops", "{connection}", "Connections closed because nothing arrived from them within the client timeout.");
        _connectionsDrained = meter.CreateCounter<long>(
            "hubs.connections.drained", "{connection}", "Connections closed by a graceful drain, with a close message that allows reconnecting.");
        _auditRecords = meter.CreateCounter<long>(
            "hubs.audit.records", "{record}", "Audit records (owner actions, admin actions, authorization denials) by action and outcome.");
        _presenceLost = meter.CreateCounter<long>(
            "hubs.connections.presence_lost", "{connection}",
            "Open connections whose shared presence was gone (reaped in a partition, or lost by Redis), closed with a close message that allows reconnecting.");
    }

    public void Audited(string action, string outcome) =>
        _auditRecords.Add(1, new KeyValuePair<string, object?>("action", action), new KeyValuePair<string, object?>("outcome", outcome));

    public void ConnectionOpened() => _connections.Add(1);

    public void ConnectionClosed() => _connections.Add(-1);

    public void Invocation(string method, string outcome) =>
        _invocations.Add(1, new KeyValuePair<string, object?>("method", method), new KeyValuePair<string, object?>("outcome", outcome));

    public void MessageAccepted(int recipients)
    {
        _messagesAccepted.Add(1);
        _messagesDelivered.Add(recipients);
    }

    public void RedisFailure(string operation) => _redisFailures.Add(1, new KeyValuePair<string, object?>("operation", operation));

    public void NodeReaped() => _nodesReaped.Add(1);

    public void PresenceLost(int connections) => _presenceLost.Add(connections);

    public void SilentPeerDropped() => _silentPeersDropped.Add(1);

    public void ConnectionDrained() => _connectionsDrained.Add(1);

    public void ConnectionBehind(bool behind) => _connectionsBehind.Add(behind ? 1 : -1);

    public void SlowConsumerDropped(string reason) => _slowConsumersDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Denied(string code) => _denials.Add(1, new KeyValuePair<string, object?>("code", code));
}
