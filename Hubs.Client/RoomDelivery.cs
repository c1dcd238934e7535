using System.Threading.Channels;
using Hubs.Contracts;
using Microsoft.Extensions.Logging;

namespace Hubs.Client;

/// <summary>
/// Delivers what the server sends, in order, exactly once per room. Everything that touches a room's position goes
/// through one queue processed by one task: live events, join results, rejoin results and removals. A message
/// beyond the next expected sequence, and a rejoin that reports a newer last sequence, both run the same catch-up
/// through <c>GetHistory</c>; SignalR's receive loop is never blocked by it.
/// </summary>
internal sealed class RoomDelivery
{
    private const int HistoryPage = 200;

    private readonly Channel<Func<Task>> _queue = Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, RoomPosition> _rooms = new(StringComparer.Ordinal);
    private readonly Func<GetHistoryRequest, Task<IReadOnlyList<RoomMessage>>> _getHistory;
    private readonly HandlerList<RoomMessage> _messages;
    private readonly HandlerList<RemovedFromRoomEvent> _removals;
    private readonly HandlerList<RecoveryIncompleteEvent> _incomplete;
    private readonly ILogger _logger;
    private readonly Task _processing;

    public RoomDelivery(
        Func<GetHistoryRequest, Task<IReadOnlyList<RoomMessage>>> getHistory,
        HandlerList<RoomMessage> messages,
        HandlerList<RemovedFromRoomEvent> removals,
        HandlerList<RecoveryIncompleteEvent> incomplete,
        ILogger logger)
    {
        _incomplete = incomplete;
        _getHistory = getHistory;
        _messages = messages;
        _removals = removals;
        _logger = logger;
        _processing = Task.Run(ProcessAsync);
    }

    /// <summary>Queues any other event so that it keeps its order relative to messages.</summary>
    public void Post(Func<Task> work) => _queue.Writer.TryWrite(work);

    /// <summary>A join is about to be sent: messages that arrive before its result are held, not dropped.</summary>
    public void JoinStarting(string roomId) => Post(() =>
    {
        _rooms.TryAdd(roomId, new RoomPosition());
        return Task.CompletedTask;
    });

    /// <summary>
    /// A join or rejoin succeeded with the server's last sequence: a new room starts there; a room seen before
    /// catches up to it, which is how messages missed while disconnected are recovered.
    /// </summary>
    public Task JoinedAsync(string roomId, long lastSequence)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(async () =>
        {
            try
            {
                if (!_rooms.TryGetValue(roomId, out var room))
                {
                    _rooms[roomId] = new RoomPosition { Last = lastSequence };
                }
                else if (room.Last is null)
                {
                    room.Last = lastSequence;
                    var held = room.Held.ToArray();
                    room.Held.Clear();
                    foreach (var message in held)
                    {
                        await ReceiveAsync(message);
                    }
                }
                else
                {
                    await CatchUpAsync(roomId, room, lastSequence);
                }
            }
            finally
            {
                done.TrySetResult();
            }
        });
        return done.Task;
    }

    /// <summary>The room is no longer followed (left, join refused, removed).</summary>
    public void Forget(string roomId) => Post(() =>
    {
        _rooms.Remove(roomId);
        return Task.CompletedTask;
    });

    /// <summary>
    /// Stops following the room and tells the handlers why, once: while a connection is being replaced, the removal
    /// arrives on both.
    /// </summary>
    public void Removed(RemovedFromRoomEvent removal) => Post(() =>
        _rooms.Remove(removal.RoomId) ? _removals.InvokeAsync(removal) : Task.CompletedTask);

    public void MessageArrived(RoomMessage message) => Post(() => ReceiveAsync(message));

    public async Task StopAsync()
    {
        _queue.Writer.TryComplete();
        await _processing;
    }

    private async Task ProcessAsync()
    {
        await foreach (var work in _queue.Reader.ReadAllAsync())
        {
            await work();
        }
    }

    private async Task ReceiveAsync(RoomMessage message)
    {
        if (!_rooms.TryGetValue(message.RoomId, out var room))
        {
            return;
        }

        if (room.Last is null)
        {
            room.Held.Add(message);
            return;
        }

        if (message.Sequence > room.Last + 1)
        {
            await CatchUpAsync(message.RoomId, room, message.Sequence);
        }

        await DeliverAsync(room, message);
    }

    /// <summary>Fetches and delivers everything after the room's position up to <paramref name="target"/>.</summary>
    private async Task CatchUpAsync(string roomId, RoomPosition room, long target)
    {
        try
        {
            while (room.Last < target)
            {
                var page = await _getHistory(new GetHistoryRequest(roomId, room.Last, HistoryPage));
                foreach (var message in page)
                {
                    if (message.Sequence > room.Last + 1)
                    {
                        // Older than the server's history window: said once, distinctly, never skipped silently.
                        ClientLog.HistoryGap(_logger, roomId, room.Last.Value + 1, message.Sequence - 1);
                        var gap = new RecoveryIncompleteEvent(roomId, room.Last.Value + 1, message.Sequence);
                        room.Last = message.Sequence - 1;
                        await _incomplete.InvokeAsync(gap);
                    }

                    await DeliverAsync(room, message);
                }

                if (page.Count < HistoryPage)
                {
                    break;
                }
            }
        }
        catch (Exception error) when (error is HubsException or OperationCanceledException or InvalidOperationException)
        {
            // Disconnected mid-way: the rejoin after the reconnect catches up from the position reached here.
            ClientLog.CatchUpFailed(_logger, error, roomId);
        }
    }

    private async Task DeliverAsync(RoomPosition room, RoomMessage message)
    {
        if (message.Sequence != room.Last + 1)
        {
            return;
        }

        room.Last = message.Sequence;
        await _messages.InvokeAsync(message);
    }

    private sealed class RoomPosition
    {
        /// <summary>Sequence of the last message delivered; null while the join result is outstanding.</summary>
        public long? Last { get; set; }

        public List<RoomMessage> Held { get; } = [];
    }
}
