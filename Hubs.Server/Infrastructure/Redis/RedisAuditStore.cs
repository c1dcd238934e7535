using System.Text.Json;
using Hubs.Contracts;
using Hubs.Server.Audit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>Cluster-wide audit store: one Redis stream, trimmed to about <see cref="AuditOptions.MaxRecords"/>.</summary>
internal sealed class RedisAuditStore(RedisGateway redis, RedisKeys keys, IOptions<AuditOptions> options) : IAuditStore
{
    private const string Field = "r";

    public Task AppendAsync(AuditRecord record, CancellationToken cancellationToken) =>
        redis.WriteAsync("audit.append", db => db.StreamAddAsync(
            keys.Audit, Field, JsonSerializer.Serialize(record), maxLength: options.Value.MaxRecords, useApproximateMaxLength: true), cancellationToken);

    public Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) =>
        redis.ReadAsync("audit.query", async db =>
        {
            // Stream ids are millisecond times, so the time window is a range of ids; room and user filter the page.
            var newest = query.To is { } to ? (RedisValue)$"{to.ToUnixTimeMilliseconds()}-{long.MaxValue}" : (RedisValue)"+";
            var oldest = query.From is { } from ? (RedisValue)$"{from.ToUnixTimeMilliseconds()}-0" : (RedisValue)"-";
            var found = new List<AuditRecord>(query.Limit);
            var cursor = newest;
            while (found.Count < query.Limit)
            {
                var page = await db.StreamRangeAsync(keys.Audit, oldest, cursor, 500, Order.Descending);
                foreach (var entry in page)
                {
                    if (JsonSerializer.Deserialize<AuditRecord>((string)entry[Field]!) is { } record && query.Matches(record) && found.Count < query.Limit)
                    {
                        found.Add(record);
                    }
                }

                if (page.Length < 500)
                {
                    break;
                }

                cursor = "(" + page[^1].Id;
            }

            return (IReadOnlyList<AuditRecord>)found;
        }, cancellationToken);
}
