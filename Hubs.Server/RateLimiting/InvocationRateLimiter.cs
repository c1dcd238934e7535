using System.Threading.RateLimiting;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.Telemetry;
using Microsoft.Extensions.Options;

namespace Hubs.Server.RateLimiting;

/// <summary>
/// A token bucket per connection for every invocation (T13): the rate is <c>InvocationsPerSecondPerConnection</c>,
/// the burst twice that. Calls that reach a hub method are charged by the hub filter; calls SignalR answers itself
/// (unknown methods, arguments that do not bind, streaming calls of plain methods) are charged by
/// <c>ContractErrorProtocol</c> as they are parsed, from the same bucket. A connection that keeps calling through
/// its refusals is closed: it is flooding, not retrying. One partitioned limiter replenishes all buckets and drops
/// idle ones, so there is no timer or map entry per connection to clean up.
/// </summary>
internal sealed partial class InvocationRateLimiter : IDisposable
{
    /// <summary>The text of the <c>rate_limited</c> refusal.</summary>
    public const string RefusalText = "too many requests, slow down";

    private const string RefusalsInARow = "hubs.rate.refusals";

    private readonly PartitionedRateLimiter<string> _buckets;
    private readonly HubsMetrics _metrics;
    private readonly ILogger<InvocationRateLimiter> _logger;

    public InvocationRateLimiter(IOptions<LimitsOptions> limits, HubsMetrics metrics, ILogger<InvocationRateLimiter> logger)
    {
        _metrics = metrics;
        _logger = logger;
        var rate = limits.Value.InvocationsPerSecondPerConnection;
        DisconnectAfterRefusals = rate * 2;
        _buckets = TokenBuckets.PerKey<string>(rate);
    }

    /// <summary>Refusals in a row after which a connection that keeps flooding is closed.</summary>
    public int DisconnectAfterRefusals { get; }

    /// <summary>
    /// Spends one token of the connection's bucket. False: refuse the call with <c>rate_limited</c>; after
    /// <see cref="DisconnectAfterRefusals"/> refusals in a row the connection is also closed through <paramref name="abort"/>.
    /// </summary>
    /// <param name="connectionId">The connection.</param>
    /// <param name="items">The connection's items (the same dictionary for SignalR's caller context and its connection).</param>
    /// <param name="abort">Closes the connection.</param>
    public bool TryAdmit(string connectionId, IDictionary<object, object?> items, Action abort)
    {
        using (var lease = _buckets.AttemptAcquire(connectionId))
        {
            if (lease.IsAcquired)
            {
                items.Remove(RefusalsInARow);
                return true;
            }
        }

        var refusals = (items.TryGetValue(RefusalsInARow, out var count) ? (int)count! : 0) + 1;
        items[RefusalsInARow] = refusals;
        if (refusals == DisconnectAfterRefusals)
        {
            Log.FloodDisconnected(_logger, connectionId, refusals);
            _metrics.Denied("flood_disconnect");
            abort();
        }

        return false;
    }

    public void Dispose() => _buckets.Dispose();

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Closed connection {ConnectionId}: {Refusals} rate-limited calls in a row")]
        public static partial void FloodDisconnected(ILogger logger, string connectionId, int refusals);
    }
}

/// <summary>Whether a send may go ahead: the connection has joined the room, and the user's budget there has a token.</summary>
internal enum SendAdmission
{
    Admitted,

    /// <summary>The connection is not in the room (or the room is gone); the caller decides between not_found and forbidden.</summary>
    NotJoined,

    /// <summary>Joined, but the budget (rate <c>MessagesPerSecondPerUserPerRoom</c>, burst twice that) is spent.</summary>
    RateLimited,
}

/// <summary>
/// The admission of a <c>SendMessage</c> on a single node: membership (in-process presence) and the per-user-per-room
/// message budget (token buckets). Membership implies access: every change that takes access away evicts first. In a
/// cluster the Redis append script decides the same inside the append.
/// </summary>
internal sealed class InMemorySendAdmission : IDisposable
{
    private readonly IPresenceTracker _presence;
    private readonly PartitionedRateLimiter<(string RoomId, string UserId)> _buckets;

    public InMemorySendAdmission(IPresenceTracker presence, IOptions<LimitsOptions> limits)
    {
        _presence = presence;
        _buckets = TokenBuckets.PerKey<(string RoomId, string UserId)>(limits.Value.MessagesPerSecondPerUserPerRoom);
    }

    public async ValueTask<SendAdmission> AdmitAsync(string roomId, string connectionId, string userId, CancellationToken cancellationToken)
    {
        if (!await _presence.IsJoinedAsync(roomId, connectionId, cancellationToken))
        {
            return SendAdmission.NotJoined;
        }

        using var lease = _buckets.AttemptAcquire((roomId, userId));
        return lease.IsAcquired ? SendAdmission.Admitted : SendAdmission.RateLimited;
    }

    public void Dispose() => _buckets.Dispose();
}

/// <summary>Marks a hub method whose calls spend the caller's message budget in the room.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class SpendsMessageBudgetAttribute : Attribute;

/// <summary>The contract's token buckets: <c>rate</c> tokens a second, a burst of twice that, no queueing.</summary>
internal static class TokenBuckets
{
    public static PartitionedRateLimiter<TKey> PerKey<TKey>(int rate)
        where TKey : notnull =>
        PartitionedRateLimiter.Create<TKey, TKey>(key => RateLimitPartition.GetTokenBucketLimiter(
            key,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = rate * 2,
                TokensPerPeriod = rate,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
}
