using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Rooms;

/// <summary>
/// The order of one connection's calls when SignalR runs several at once
/// (<c>Hubs:Limits:ParallelInvocationsPerConnection</c>). Sends run side by side: each is admitted and stored in the
/// order it arrived (its append is issued before anything on its path awaits), and <see cref="NextSend"/> keeps their
/// broadcasts in that order too. Every other call runs alone, in arrival order, so that a connection's own joins and
/// leaves can never interleave (a join undone by a leave must not leave the connection in the room's group).
/// </summary>
internal sealed class ConnectionInvocations
{
    private Task _lastSend = Task.CompletedTask;

    /// <summary>Taken by every call that is not a send, for its whole run.</summary>
    public SemaphoreSlim Exclusive { get; } = new(1, 1);

    /// <summary>The connection's state, created when it connected.</summary>
    public static ConnectionInvocations Of(HubCallerContext context) =>
        context.Items.TryGetValue(typeof(ConnectionInvocations), out var value) && value is ConnectionInvocations invocations
            ? invocations
            : throw new InvalidOperationException("The connection has no invocation state.");

    public static void Attach(HubCallerContext context) => context.Items[typeof(ConnectionInvocations)] = new ConnectionInvocations();

    /// <summary>A turn among this connection's sends, taken in arrival order.</summary>
    public SendTurn NextSend()
    {
        var issued = new TaskCompletionSource();
        return new SendTurn(Interlocked.Exchange(ref _lastSend, issued.Task), issued);
    }
}

/// <summary>
/// One send's place among its connection's sends: its broadcast is issued after <see cref="Previous"/>'s, and
/// <see cref="Complete"/> (once the broadcast is issued, or the send ends without one) lets the next go.
/// </summary>
internal sealed class SendTurn(Task previous, TaskCompletionSource issued)
{
    /// <summary>Completes when the previous send of the connection has issued its broadcast or ended without one.</summary>
    public Task Previous { get; } = previous;

    public void Complete() => issued.TrySetResult();
}
