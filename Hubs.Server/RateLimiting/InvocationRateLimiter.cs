using System.Threading.RateLimiting;
using Hubs.Server.Options;
using Microsoft.Extensions.Options;

namespace Hubs.Server.RateLimiting;

/// <summary>
/// A token bucket per connection for every invocation that reaches the hub filter (T13): the rate is
/// <c>InvocationsPerSecondPerConnection</c>, the burst twice that. One partitioned limiter replenishes all buckets
/// and drops idle ones, so there is no timer or map entry per connection to clean up.
/// </summary>
internal sealed class InvocationRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _buckets;

    public InvocationRateLimiter(IOptions<LimitsOptions> limits)
    {
        var rate = limits.Value.InvocationsPerSecondPerConnection;
        DisconnectAfterRefusals = rate * 2;
        _buckets = PartitionedRateLimiter.Create<string, string>(connectionId => RateLimitPartition.GetTokenBucketLimiter(
            connectionId,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = rate * 2,
                TokensPerPeriod = rate,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Refusals in a row after which a connection that keeps flooding is closed.</summary>
    public int DisconnectAfterRefusals { get; }

    public bool TryAcquire(string connectionId)
    {
        using var lease = _buckets.AttemptAcquire(connectionId);
        return lease.IsAcquired;
    }

    public void Dispose() => _buckets.Dispose();
}

/// <summary>The <c>SendMessage</c> budget of one user in one room: rate <c>MessagesPerSecondPerUserPerRoom</c>, burst twice that.</summary>
internal interface IMessageRateLimiter
{
    ValueTask<bool> TryAcquireAsync(string roomId, string userId, CancellationToken cancellationToken);
}

/// <summary>Single-node message budget.</summary>
internal sealed class InMemoryMessageRateLimiter : IMessageRateLimiter, IDisposable
{
    private readonly PartitionedRateLimiter<(string RoomId, string UserId)> _buckets;

    public InMemoryMessageRateLimiter(IOptions<LimitsOptions> limits)
    {
        var rate = limits.Value.MessagesPerSecondPerUserPerRoom;
        _buckets = PartitionedRateLimiter.Create<(string RoomId, string UserId), (string, string)>(key => RateLimitPartition.GetTokenBucketLimiter(
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

    public ValueTask<bool> TryAcquireAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        using var lease = _buckets.AttemptAcquire((roomId, userId));
        return ValueTask.FromResult(lease.IsAcquired);
    }

    public void Dispose() => _buckets.Dispose();
}

/// <summary>Marks a hub method whose calls spend the caller's message budget in the room.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class SpendsMessageBudgetAttribute : Attribute;
