using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Rooms;

/// <summary>
/// The order of one connection's calls when SignalR runs several at once
/// (<c>Hubs:Limits:ParallelInvocationsPerConnection</c>): the outcome is that of one call at a time, except that
/// sends that follow one another overlap. A send is admitted and stored after every earlier call of the connection
/// has finished, or, behind another send, once that one's append is issued (appends are issued before anything on
/// their path awaits, so they are stored in arrival order); its broadcast follows the previous send's. Any other
/// call runs alone, after everything before it, so that a connection's own joins, leaves and sends never interleave
/// (a join undone by a leave must not leave the connection in the room's group).
/// </summary>
/// <remarks>Turns are taken in arrival order: SignalR parses and starts a connection's calls one after another.</remarks>
internal sealed class ConnectionInvocations
{
    private readonly Lock _gate = new();
    private readonly List<Task> _sendsSinceExclusive = [];
    private Task _lastExclusive = Task.CompletedTask;
    private Task _appendMayStart = Task.CompletedTask;
    private Task _lastBroadcast = Task.CompletedTask;

    /// <summary>The connection's state, created when it connected.</summary>
    public static ConnectionInvocations Of(HubCallerContext context) =>
        context.Items.TryGetValue(typeof(ConnectionInvocations), out var value) && value is ConnectionInvocations invocations
            ? invocations
            : throw new InvalidOperationException("The connection has no invocation state.");

    public static void Attach(HubCallerContext context) => context.Items[typeof(ConnectionInvocations)] = new ConnectionInvocations();

    /// <summary>A send's turn, taken when it arrives.</summary>
    public SendTurn NextSend()
    {
        lock (_gate)
        {
            var turn = new SendTurn(_appendMayStart, _lastBroadcast);
            _appendMayStart = turn.AppendIssued;
            _lastBroadcast = turn.BroadcastIssued;
            if (_sendsSinceExclusive.Count >= 16)
            {
                // At most ParallelInvocationsPerConnection of them can still be running.
                _sendsSinceExclusive.RemoveAll(t => t.IsCompleted);
            }

            _sendsSinceExclusive.Add(turn.Finished);
            return turn;
        }
    }

    /// <summary>Any other call's turn, taken when it arrives: it may run once everything before it has finished.</summary>
    public ExclusiveTurn NextExclusive()
    {
        lock (_gate)
        {
            var before = _sendsSinceExclusive.Count == 0 ? _lastExclusive : Task.WhenAll([.. _sendsSinceExclusive, _lastExclusive]);
            var turn = new ExclusiveTurn(before);
            _sendsSinceExclusive.Clear();
            _lastExclusive = turn.Finished;
            _appendMayStart = turn.Finished;
            return turn;
        }
    }
}

/// <summary>
/// A send's place among its connection's calls: it appends once <see cref="MayAppend"/> completes, broadcasts once
/// <see cref="MayBroadcast"/> does, and says when it has done each. <see cref="Complete"/> ends the turn whatever happened.
/// </summary>
internal sealed class SendTurn(Task mayAppend, Task mayBroadcast)
{
    private readonly TaskCompletionSource _appendIssued = new();
    private readonly TaskCompletionSource _broadcastIssued = new();
    private readonly TaskCompletionSource _finished = new();

    /// <summary>Completes when every earlier call has finished, or the send before this one has issued its append.</summary>
    public Task MayAppend { get; } = mayAppend;

    /// <summary>Completes when the previous send of the connection has issued its broadcast or ended without one.</summary>
    public Task MayBroadcast { get; } = mayBroadcast;

    public Task AppendIssued => _appendIssued.Task;

    public Task BroadcastIssued => _broadcastIssued.Task;

    public Task Finished => _finished.Task;

    /// <summary>The append is on its way to the log: the next send may issue its own.</summary>
    public void Appending() => _appendIssued.TrySetResult();

    /// <summary>The broadcast is issued: the next send may issue its own.</summary>
    public void Broadcasting() => _broadcastIssued.TrySetResult();

    public void Complete()
    {
        _appendIssued.TrySetResult();
        _broadcastIssued.TrySetResult();
        _finished.TrySetResult();
    }
}

/// <summary>A call that runs alone: it starts once <see cref="Ready"/> completes and lets the next go at <see cref="Complete"/>.</summary>
internal sealed class ExclusiveTurn(Task ready)
{
    private readonly TaskCompletionSource _finished = new();

    public Task Ready { get; } = ready;

    public Task Finished => _finished.Task;

    public void Complete() => _finished.TrySetResult();
}
