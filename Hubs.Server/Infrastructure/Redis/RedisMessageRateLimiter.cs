using Hubs.Server.Options;
using Hubs.Server.RateLimiting;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// The per-user-per-room message budget counted in Redis, so a user with connections on many nodes has one budget.
/// A token bucket in a Lua script, timed by Redis's own clock so that nodes' clocks do not matter.
/// </summary>
internal sealed class RedisMessageRateLimiter(RedisGateway redis, RedisKeys keys, IOptions<LimitsOptions> limits) : IMessageRateLimiter
{
    private readonly int _rate = limits.Value.MessagesPerSecondPerUserPerRoom;

    public async ValueTask<bool> TryAcquireAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        await redis.WriteAsync("rate.message", async db => (long)await db.ScriptEvaluateAsync(
            RedisScripts.TokenBucket, [keys.MessageBudget(roomId, userId)], [_rate, _rate * 2]) == 1, cancellationToken);
}
