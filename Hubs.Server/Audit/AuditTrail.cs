using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Telemetry;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Audit;

/// <summary><c>Hubs:Audit</c>.</summary>
internal sealed class AuditOptions
{
    public const string Section = "Hubs:Audit";

    /// <summary>Records kept (the oldest go first): in process on one node, in a Redis stream in a cluster.</summary>
    [Range(100, 10_000_000)]
    public int MaxRecords { get; set; } = 100_000;
}

/// <summary>How the actor came: <see cref="Hub"/> (a connected user) or <see cref="Api"/> (the admin API).</summary>
internal static class AuditVia
{
    public const string Hub = "hub";

    public const string Api = "api";
}

/// <summary>Where audit records are kept, capped.</summary>
internal interface IAuditStore
{
    Task AppendAsync(AuditRecord record, CancellationToken cancellationToken);

    /// <summary>Newest first, at most the query's limit, filtered by room, by user (actor or target) and by time.</summary>
    Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken);
}

internal sealed record AuditQuery(string? RoomId, string? UserId, DateTimeOffset? From, DateTimeOffset? To, int Limit)
{
    public bool Matches(AuditRecord record) =>
        (RoomId is null || record.RoomId == RoomId)
        && (UserId is null || record.Actor == UserId || record.TargetUserId == UserId)
        && (From is null || record.Time >= From)
        && (To is null || record.Time <= To);
}

/// <summary>Single-node store: a capped queue in process.</summary>
internal sealed class InMemoryAuditStore(IOptions<AuditOptions> options) : IAuditStore
{
    private readonly ConcurrentQueue<AuditRecord> _records = new();

    public Task AppendAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        _records.Enqueue(record);
        while (_records.Count > options.Value.MaxRecords && _records.TryDequeue(out _))
        {
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AuditRecord>> QueryAsync(AuditQuery query, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<AuditRecord>>([.. _records.Reverse().Where(query.Matches).Take(query.Limit)]);
}

/// <summary>
/// The one way an audit record is made: every owner action, admin action and authorization denial gives exactly one,
/// to the <c>Hubs.Audit</c> log category, the <c>hubs.audit.records</c> counter and the capped store. Records hold ids,
/// codes and times only: never a message text or a token.
/// </summary>
internal sealed partial class AuditTrail(IAuditStore store, HubsMetrics metrics, TimeProvider time, ILoggerFactory loggers)
{
    public const string Category = "Hubs.Audit";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    /// <summary>Records an action that went through.</summary>
    public Task OkAsync(string actor, string via, string action, string? roomId = null, string? target = null) =>
        RecordAsync(actor, via, action, roomId, target, "ok", RefIds.New());

    /// <summary>Records a refusal, under the reference id its caller was given.</summary>
    public Task RefusedAsync(string actor, string via, string action, string? roomId, string? target, string code, string refId) =>
        RecordAsync(actor, via, action, roomId, target, code, refId);

    private async Task RecordAsync(string actor, string via, string action, string? roomId, string? target, string outcome, string refId)
    {
        var record = new AuditRecord(time.GetUtcNow(), actor, via, action, roomId, target, outcome, refId);
        Log.Audit(_logger, actor, via, action, roomId, target, outcome, refId);
        metrics.Audited(action, outcome);
        try
        {
            await store.AppendAsync(record, CancellationToken.None);
        }
        catch (HubsErrorException)
        {
            // Redis is away: the log line and the counter above still carry the record.
            Log.NotStored(_logger, action, refId);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Audit {Action} by {Actor} via {Via} room {RoomId} target {TargetUserId}: {Outcome} (ref {RefId})")]
        public static partial void Audit(ILogger logger, string actor, string via, string action, string? roomId, string? targetUserId, string outcome, string refId);

        [LoggerMessage(2, LogLevel.Warning, "Audit record {Action} (ref {RefId}) is in the log but not in the store: Redis is unavailable")]
        public static partial void NotStored(ILogger logger, string action, string refId);
    }
}
