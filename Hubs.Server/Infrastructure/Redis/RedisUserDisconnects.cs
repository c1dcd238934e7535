using Hubs.Server.Presence;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>Cluster-wide bans: a key with the ban's time to live, so it ends by itself on every node at once.</summary>
internal sealed class RedisUserBans(RedisGateway redis, RedisKeys keys) : IUserBans
{
    public Task BanAsync(string userId, TimeSpan duration, CancellationToken cancellationToken) =>
        redis.WriteAsync("ban.set", db => db.StringSetAsync(keys.UserBan(userId), 1, duration), cancellationToken);

    public Task LiftAsync(string userId, CancellationToken cancellationToken) =>
        redis.WriteAsync("ban.lift", db => db.KeyDeleteAsync(keys.UserBan(userId)), cancellationToken);

    public Task<bool> IsBannedAsync(string userId, CancellationToken cancellationToken) =>
        redis.ReadAsync("ban.get", db => db.KeyExistsAsync(keys.UserBan(userId)), cancellationToken);
}

/// <summary>
/// Cluster-wide disconnects: the user id goes out on one channel and every node (this one included) closes its own
/// connections of that user.
/// </summary>
internal sealed class RedisUserDisconnects(
    IConnectionMultiplexer redis, RedisKeys keys, RedisSubscriptions subscriptions, LocalUserDisconnects local) : IUserDisconnects, IHostedService
{
    public async Task DisconnectAsync(string userId, CancellationToken cancellationToken) =>
        await redis.GetSubscriber().PublishAsync(keys.UserDisconnects, userId).WaitAsync(RedisGateway.CallBudget, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        subscriptions.Add(keys.UserDisconnects, (channel, userId) => _ = local.DisconnectAsync(userId!, CancellationToken.None));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
