using Microsoft.Extensions.Logging;

namespace Hubs.Client;

/// <summary>Handlers of one event; registration returns the handle that removes it.</summary>
internal sealed class HandlerList<T>(string eventName, ILogger logger)
{
    private readonly Lock _gate = new();
    private Func<T, Task>[] _handlers = [];

    public IDisposable Add(Func<T, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            _handlers = [.. _handlers, handler];
        }

        return new Registration(this, handler);
    }

    /// <summary>Calls every handler in order; one that throws is logged and does not stop the others.</summary>
    public async Task InvokeAsync(T item)
    {
        foreach (var handler in Volatile.Read(ref _handlers))
        {
            try
            {
                await handler(item);
            }
            catch (Exception error)
            {
                ClientLog.HandlerFailed(logger, error, eventName);
            }
        }
    }

    private void Remove(Func<T, Task> handler)
    {
        lock (_gate)
        {
            _handlers = _handlers.Where(h => h != handler).ToArray();
        }
    }

    private sealed class Registration(HandlerList<T> list, Func<T, Task> handler) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                list.Remove(handler);
            }
        }
    }
}
