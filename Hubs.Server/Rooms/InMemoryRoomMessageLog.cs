using System.Collections.Concurrent;
using Hubs.Contracts;
using Hubs.Server.Options;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Rooms;

/// <summary>Single-node history: a bounded ring per room, its lock making sequence and append one step.</summary>
internal sealed class InMemoryRoomMessageLog(IOptions<HistoryOptions> options) : IRoomMessageLog
{
    private readonly ConcurrentDictionary<string, RoomLog> _logs = new(StringComparer.Ordinal);
    private readonly int _capacity = options.Value.MaxMessagesPerRoom;

    public Task<RoomMessage> AppendAsync(string roomId, MessageDraft draft, CancellationToken cancellationToken)
    {
        var log = _logs.GetOrAdd(roomId, static _ => new RoomLog());
        lock (log)
        {
            var message = draft.ToMessage(roomId, log.LastSequence + 1);
            log.Messages.AddLast(message);
            log.LastSequence = message.Sequence;
            if (log.Messages.Count > _capacity)
            {
                log.Messages.RemoveFirst();
            }

            return Task.FromResult(message);
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

        public long LastSequence { get; set; }
    }
}
