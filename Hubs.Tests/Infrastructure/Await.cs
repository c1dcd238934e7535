using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Infrastructure;

/// <summary>Awaiting events with a bound instead of sleeping.</summary>
internal static class Await
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Polls <paramref name="condition"/> until it holds or the bound passes; fails the test on timeout.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Polls an asynchronous <paramref name="condition"/> until it holds or the bound passes.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Timeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(50);
        }
    }

    public static Task<T> Within<T>(this Task<T> task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Timeout);

    public static Task Within(this Task task, TimeSpan? timeout = null) => task.WaitAsync(timeout ?? Timeout);
}

/// <summary>Records every event of one kind that a connection receives.</summary>
internal sealed class EventRecorder<T>
{
    private readonly ConcurrentQueue<T> _items = new();
    private readonly object _gate = new();
    private readonly List<(Func<T, bool> Match, TaskCompletionSource<T> Done)> _waiters = [];

    public EventRecorder(HubConnection connection, string eventName)
    {
        connection.On<T>(eventName, Add);
    }

    public EventRecorder()
    {
    }

    public IReadOnlyList<T> Items => _items.ToArray();

    public void Add(T item)
    {
        _items.Enqueue(item);
        lock (_gate)
        {
            foreach (var waiter in _waiters.Where(w => w.Match(item)).ToArray())
            {
                waiter.Done.TrySetResult(item);
                _waiters.Remove(waiter);
            }
        }
    }

    /// <summary>Waits for the first item (already received or coming) that matches.</summary>
    public Task<T> WaitAsync(Func<T, bool>? match = null, TimeSpan? timeout = null)
    {
        match ??= _ => true;
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            // Not FirstOrDefault: for a value type (a state enum) its default would pass for a match.
            foreach (var existing in _items)
            {
                if (match(existing))
                {
                    return Task.FromResult(existing);
                }
            }

            _waiters.Add((match, done));
        }

        return done.Task.WaitAsync(timeout ?? Await.Timeout);
    }
}
