using Hubs.Server.Authorization;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>Tickets in Redis: issued on one node, redeemable once on any node (GETDEL makes "once" atomic).</summary>
internal sealed class RedisTicketStore(RedisGateway redis, RedisKeys keys) : ITicketStore
{
    public Task StoreAsync(string ticket, string token, TimeSpan lifetime, CancellationToken cancellationToken) =>
        redis.WriteAsync("ticket.store", db => db.StringSetAsync(keys.Ticket(ticket), token, lifetime), cancellationToken);

    public Task<string?> RedeemAsync(string ticket, CancellationToken cancellationToken) =>
        redis.WriteAsync("ticket.redeem", async db => (string?)await db.StringGetDeleteAsync(keys.Ticket(ticket)), cancellationToken);
}
