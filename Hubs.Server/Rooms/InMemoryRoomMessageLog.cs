using System.Collections.Concurrent;
using Hubs.Contracts;
using Hubs.Server.Options;
using Hubs.Server.RateLimiting;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Rooms;

/// <summary>Single-node history: a bounded ring per room, its lock making sequence and append one step.</summary>
internal sealed class InMemoryRoomMessageLog(IOptions<HistoryOptions> options, InMemorySendAdmission admission) : IRoomMessageLog
{
    private readonly ConcurrentDictionary<string, RoomLog> _logs = new(StringComparer.Ordinal);
    private readonly int _capacity = options.Value.MaxMessagesPerRoom;

    public async Task<AppendResult> AppendAsync(string roomId, MessageDraft draft, string? admitConnectionId, CancellationToken cancellationToken)
    {
        if (admitConnectionId is not null
            && await admission.AdmitAsync(roomId, admitConnectionId, draft.SenderId, cancellationToken) is var admitted and not SendAdmission.Admitted)
        {
            throw new SendRefusedException(admitted);
        }

        return Append(roomId, draft);
    }

    private AppendResult Append(string roomId, MessageDraft draft)
    {
        var log = _logs.GetOrAdd(roomId, static _ => new RoomLog());
        var key = draft.RetryKey();
        lock (log)
        {
            if (key is not null && log.ByRetryKey.TryGetValue(key, out var original))
            {
                return new AppendResult(original, Duplicate: true);
            }

            var message = draft.ToMessage(roomId, log.LastSequence + 1);
            log.Messages.AddLast(message);
            log.LastSequence = message.Sequence;
            if (key is not null)
            {
                log.ByRetryKey[key] = message;
            }

            if (log.Messages.Count > _capacity)
            {
                var trimmed = log.Messages.First!.Value;
                log.Messages.RemoveFirst();
                if (MessageDraft.RetryKey(trimmed.SenderId, trimmed.ClientMessageId) is { } old)
                {
                    log.ByRetryKey.Remove(old);
                }
            }

            return new AppendResult(message, Duplicate: false);
        }
    }

    public Task<IReadOnlyList<RoomMessage>> ReadAsync(string roomId, long? afterSequence, int limit, CancellationToken cancellationToken)
    {
        if (!_logs.TryGetValue(roomId, out var log))
        {
            return Task.FromResult<IReadOnlyList<RoomMessage>>([]);
        }

        lock (log)
        {
            IReadOnlyList<RoomMessage> page = afterSequence is { } after
                ? log.Messages.Where(m => m.Sequence > after).Take(limit).ToArray()
                : log.Messages.Skip(Math.Max(0, log.Messages.Count - limit)).ToArray();
            return Task.FromResult(page);
        }
    }

    public Task<long> GetLastSequenceAsync(string roomId, CancellationToken cancellationToken)
    {
        if (!_logs.TryGetValue(roomId, out var log))
        {
            return Task.FromResult(0L);
        }

        lock (log)
        {
            return Task.FromResult(log.LastSequence);
        }
    }

    public Task DeleteAsync(string roomId, CancellationToken cancellationToken)
    {
        _logs.TryRemove(roomId, out _);
        return Task.CompletedTask;
    }

    private sealed class RoomLog
    {
        public LinkedList<RoomMessage> Messages { get; } = new();

        /// <summary>Messages still in the ring that were sent with a client message id, by retry key.</summary>
        public Dictionary<string, RoomMessage> ByRetryKey { get; } = new(StringComparer.Ordinal);

        public long LastSequence { get; set; }
    }
}
