using Hubs.Server.Options;
using Hubs.Server.RateLimiting;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Membership and the per-user-per-room message budget in one script, so a send costs one round trip before its
/// append, and a user with connections on many nodes has one budget. The bucket is timed by Redis's own clock so
/// that nodes' clocks do not matter; no token is spent by a connection that is not in the room.
/// </summary>
internal sealed class RedisSendAdmission(RedisGateway redis, RedisKeys keys, IOptions<LimitsOptions> limits) : ISendAdmission
{
    private readonly int _rate = limits.Value.MessagesPerSecondPerUserPerRoom;

    public async ValueTask<SendAdmission> AdmitAsync(string roomId, string connectionId, string userId, CancellationToken cancellationToken) =>
        (long)await redis.WriteAsync("send.admit", db => db.ScriptEvaluateAsync(
            RedisScripts.AdmitSend,
            [keys.RoomConnections(roomId), keys.MessageBudget(roomId, userId)],
            [connectionId, _rate, _rate * 2]), cancellationToken) switch
        {
            1 => SendAdmission.Admitted,
            2 => SendAdmission.RateLimited,
            _ => SendAdmission.NotJoined,
        };
}
