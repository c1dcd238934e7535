using System.Text.Json;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.RateLimiting;
using Hubs.Server.Rooms;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Per-room sequence and history in Redis. A stored member is <c>"&lt;sequence&gt;|&lt;draft json&gt;"</c> in a sorted set
/// scored by sequence, so reads by <c>afterSequence</c> are one range query.
/// </summary>
internal sealed class RedisRoomMessageLog(RedisGateway redis, RedisKeys keys, IOptions<HistoryOptions> history, IOptions<LimitsOptions> limits) : IRoomMessageLog
{
    private readonly int _capacity = history.Value.MaxMessagesPerRoom;
    private readonly int _rate = limits.Value.MessagesPerSecondPerUserPerRoom;

    public async Task<AppendResult> AppendAsync(string roomId, MessageDraft draft, string? admitConnectionId, CancellationToken cancellationToken)
    {
        // Admission and append are one script: a send is one round trip, and a connection's sends, issued in the order
        // they arrive, are stored in that order.
        var result = await redis.WriteAsync("message.append", db => db.ScriptEvaluateAsync(
            RedisScripts.AppendMessage,
            [
                keys.Room(roomId), keys.Sequence(roomId), keys.History(roomId), keys.MessageIds(roomId), keys.MessageIdOrder(roomId),
                keys.RoomConnections(roomId), keys.MessageBudget(roomId, draft.SenderId),
            ],
            [JsonSerializer.Serialize(draft), _capacity, draft.RetryKey() ?? string.Empty, admitConnectionId ?? string.Empty, _rate, _rate * 2]),
            cancellationToken);
        var parts = (RedisResult[])result!;
        var sequence = (long)parts[0];
        switch (sequence)
        {
            case -1 when admitConnectionId is null:
                throw HubsErrorException.RoomNotFound();
            case -1 or -2:
                throw new SendRefusedException(SendAdmission.NotJoined);
            case -3:
                throw new SendRefusedException(SendAdmission.RateLimited);
        }

        // The recipient count comes with the append, so a send costs no extra read for it.
        return parts[1].ToString() == "d"
            ? new AppendResult(Parse(roomId, parts[2].ToString()), Duplicate: true)
            : new AppendResult(draft.ToMessage(roomId, sequence), Duplicate: false) { Recipients = (int)parts[2] };
    }

    public Task<IReadOnlyList<RoomMessage>> ReadAsync(string roomId, long? afterSequence, int limit, CancellationToken cancellationToken) =>
        redis.ReadAsync("message.read", async db =>
        {
            var members = afterSequence is { } after
                ? await db.SortedSetRangeByScoreAsync(keys.History(roomId), after, double.PositiveInfinity, Exclude.Start, Order.Ascending, 0, limit)
                : await db.SortedSetRangeByRankAsync(keys.History(roomId), -limit, -1);
            return (IReadOnlyList<RoomMessage>)members.Select(m => Parse(roomId, m.ToString())).ToArray();
        }, cancellationToken);

    public Task<long> GetLastSequenceAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("message.last", async db => (long?)await db.StringGetAsync(keys.Sequence(roomId)) ?? 0, cancellationToken);

    /// <summary>Sequence and history go with the room in <see cref="RedisRoomStore.DeleteAsync"/>'s script.</summary>
    public Task DeleteAsync(string roomId, CancellationToken cancellationToken) => Task.CompletedTask;

    private static RoomMessage Parse(string roomId, string member)
    {
        var bar = member.IndexOf('|');
        var draft = JsonSerializer.Deserialize<MessageDraft>(member.AsSpan(bar + 1))!;
        return draft.ToMessage(roomId, long.Parse(member.AsSpan(0, bar)));
    }
}
