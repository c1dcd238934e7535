using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Tests.Infrastructure;

/// <summary>A test hub filter that can cut a connection from the server side, as a network drop would.</summary>
internal sealed class ConnectionAborter : IHubFilter
{
    private readonly ConcurrentDictionary<string, HubCallerContext> _contexts = new();

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
