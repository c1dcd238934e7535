using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Tests.Infrastructure;

/// <summary>A test hub filter that can cut a connection from the server side, as a network drop would.</summary>
internal sealed class ConnectionAborter : IHubFilter
{
    private readonly ConcurrentDictionary<string, HubCallerContext> _contexts = new();
    private readonly ConcurrentDictionary<string, byte> _loseAcknowledgement = new();
    private int _acknowledgementsLost;

    /// <summary>How many results were withheld by <see cref="LoseNextAcknowledgement"/>.</summary>
    public int AcknowledgementsLost => Volatile.Read(ref _acknowledgementsLost);

    /// <summary>
    /// The user's next <c>SendMessage</c> runs to the end (stored, broadcast), then the connection is cut before its
    /// result is written: the acknowledgement is lost, exactly as when a network drops after the server did the work.
    /// </summary>
    public void LoseNextAcknowledgement(string userId) => _loseAcknowledgement[userId] = 0;

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext context, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var result = await next(context);
        var userId = context.Context.User?.FindFirst("sub")?.Value;
        if (context.HubMethodName != "SendMessage" || userId is null || !_loseAcknowledgement.TryRemove(userId, out _))
        {
            return result;
        }

        Interlocked.Increment(ref _acknowledgementsLost);
        context.Context.Abort();
        await Task.Delay(Timeout.Infinite, context.Context.ConnectionAborted);
        throw new InvalidOperationException("unreachable");
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        _contexts[context.Context.ConnectionId] = context.Context;
        await next(context);
    }

    public Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        _contexts.TryRemove(context.Context.ConnectionId, out _);
        return next(context, exception);
    }

    /// <summary>Cuts every connection of the user (clients that skip negotiation do not know their connection id).</summary>
    public void AbortUser(string userId)
    {
        var contexts = _contexts.Values.Where(c => c.User?.FindFirst("sub")?.Value == userId).ToArray();
        Assert.That(contexts, Is.Not.Empty, "the user has connections on the server");
        foreach (var context in contexts)
        {
            context.Abort();
        }
    }
}
