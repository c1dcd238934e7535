using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Readiness: a node that cannot reach Redis, or whose subscriptions (<see cref="RedisSubscriptions"/>) do not all
/// hold yet, takes no new traffic.
/// </summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis, RedisSubscriptions subscriptions) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    // The description is generic on purpose: the readiness answer is public.
    private static readonly HealthCheckResult Unreachable = HealthCheckResult.Unhealthy("redis unreachable");

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!subscriptions.Established)
        {
            return Unreachable;
        }

        try
        {
            // Both connections: commands, and the subscription that carries the backplane's deliveries.
            await Task.WhenAll(redis.GetDatabase().PingAsync(), redis.GetSubscriber().PingAsync()).WaitAsync(Timeout, cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception error) when (error is RedisException or TimeoutException)
        {
            return Unreachable;
        }
    }
}
