using System.Collections.Concurrent;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Lifecycle;

/// <summary>
/// Graceful drain on SIGTERM. From the first moment of the host's stop (before Kestrel stops) the node is draining:
/// readiness answers 503 and new connection attempts get 503. Its hub connections are then closed spread over the
/// first part of <c>Hubs:Drain:PeriodSeconds</c>, each once its running invocations are done, with a close message
/// that allows reconnecting. Their presence is handed off, not departed: the entries stay until the node is gone and
/// a survivor reaps them after the presence timeout, so users who reconnect elsewhere within it never leave a room.
/// </summary>
internal sealed partial class NodeDrain(
    IOptions<DrainOptions> options,
    HubsMetrics metrics,
    TimeProvider time,
    ILogger<NodeDrain> logger) : IHostedLifecycleService
{
    /// <summary>The text of the close message; the client reconnects elsewhere.</summary>
    public const string CloseText = $"{ErrorCodes.Unavailable}: this node is shutting down, reconnect";

    private static readonly TimeSpan LongestSpacing = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, HubConnectionContext> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, InFlight> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _handedOff = new(StringComparer.Ordinal);
    private readonly TimeSpan _period = TimeSpan.FromSeconds(options.Value.PeriodSeconds);
    private volatile bool _draining;
    private Task? _drain;

    public bool IsDraining => _draining;

    /// <summary>Connections whose presence was handed off rather than departed.</summary>
    public int HandedOffCount => _handedOff.Count;

    /// <summary>The connection was closed by the drain: its presence stays for a survivor to hand off or reap.</summary>
    public bool IsHandedOff(string connectionId) => _handedOff.ContainsKey(connectionId);

    /// <summary>The open connections of <paramref name="userId"/> on this node.</summary>
    public IReadOnlyList<HubConnectionContext> ConnectionsOf(string userId) =>
        [.. _connections.Values.Where(c => c.User.FindFirst(HubsUser.SubjectClaim)?.Value == userId)];

    /// <summary>The open connection with this id on this node, if there is one.</summary>
    public HubConnectionContext? Find(string connectionId) => _connections.GetValueOrDefault(connectionId);

    /// <summary>Closes a connection now: <paramref name="message"/> is written (waiting a second at most), then it is aborted.</summary>
    public static async Task CloseNowAsync(HubConnectionContext connection, CloseMessage message)
    {
        try
        {
            await connection.WriteAsync(message).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (Exception error) when (error is OperationCanceledException or TimeoutException or ObjectDisposedException or InvalidOperationException or IOException)
        {
            // Gone already or not reading: the abort below ends it all the same.
        }
        finally
        {
            connection.Abort();
        }
    }

    public void Connected(HubConnectionContext connection)
    {
        _connections[connection.ConnectionId] = connection;
        if (_draining)
        {
            // Slipped in as the drain began: closed like the others.
            _ = CloseAsync(connection, CancellationToken.None);
        }
    }

    public void Disconnected(HubConnectionContext connection)
    {
        _connections.TryRemove(connection.ConnectionId, out _);
        if (_inFlight.TryRemove(connection.ConnectionId, out var calls))
        {
            // Nothing more will be answered on it: a drain waiting for its calls goes on.
            calls.Abandon();
        }
    }

    /// <summary>
    /// A call that expects an answer arrived on the connection (counted by the hub protocol as it parses it, so that
    /// the count ends only once the answer is written, after every filter has run).
    /// </summary>
    public void InvocationStarted(string connectionId) => _inFlight.GetOrAdd(connectionId, static _ => new InFlight()).Enter();

    /// <summary>The answer to a call was written to the connection.</summary>
    public void InvocationAnswered(string connectionId)
    {
        if (_inFlight.TryGetValue(connectionId, out var calls))
        {
            calls.Exit();
        }
    }

    /// <summary>Refuses a new invocation with <c>unavailable</c> once the drain is closing its connection: the client sends it again after the reconnect.</summary>
    public void ThrowIfClosing(string connectionId)
    {
        if (_inFlight.TryGetValue(connectionId, out var calls) && calls.IsClosing)
        {
            throw new HubsErrorException(ErrorCodes.Unavailable, "this node is shutting down, reconnect");
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// A host stopped from code drains too (before its hosted services stop); after a signal the drain has already run
    /// and this returns at once.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => DrainAsync().WaitAsync(cancellationToken);

    /// <summary>Drains once; every caller gets the same drain.</summary>
    public Task DrainAsync()
    {
        lock (_connections)
        {
            return _drain ??= Task.Run(() => RunDrainAsync(CancellationToken.None));
        }
    }

    private async Task RunDrainAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var started = time.GetTimestamp();
        var connections = _connections.Values.ToArray();
        Log.DrainStarted(logger, connections.Length, _period.TotalSeconds);

        // Closes are spread over the first 60% of the period (at most 100 ms apart); the rest is for running calls.
        var spread = _period * 0.6;
        var spacing = connections.Length == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Min(spread.Ticks / connections.Length, LongestSpacing.Ticks));
        var closing = new List<Task>(connections.Length);
        for (var i = 0; i < connections.Length; i++)
        {
            var wait = spacing * i - time.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, cancellationToken);
            }

            closing.Add(CloseAsync(connections[i], cancellationToken));
        }

        var left = _period * 0.9 - time.GetElapsedTime(started);
        await Task.WhenAll(closing).WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, time, cancellationToken)
            .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Log.DrainFinished(logger, _handedOff.Count, _connections.Count, time.GetElapsedTime(started).TotalSeconds);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task CloseAsync(HubConnectionContext connection, CancellationToken cancellationToken)
    {
        var id = connection.ConnectionId;
        _handedOff[id] = 0;
        try
        {
            // No new invocations from here on; the running ones are answered (bounded by the period) before the close.
            var calls = _inFlight.GetOrAdd(id, static _ => new InFlight());
            await calls.CloseAsync().WaitAsync(_period, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await connection.WriteAsync(new CloseMessage(CloseText, allowReconnect: true), cancellationToken);

            // A client closes when it reads the close message; aborting at once could drop the message unsent.
            await Task.Delay(CloseGrace, time, connection.ConnectionAborted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception error) when (error is OperationCanceledException or ObjectDisposedException or InvalidOperationException or IOException)
        {
            // Gone already, or the host gave up waiting: the abort below still ends it.
        }
        finally
        {
            connection.Abort();
            metrics.ConnectionDrained();
        }
    }

    /// <summary>Invocations awaiting their answer on one connection; closing waits for them and refuses new ones.</summary>
    private sealed class InFlight
    {
        private readonly Lock _gate = new();
        private TaskCompletionSource? _idle;
        private int _running;
        private bool _closing;

        public bool IsClosing
        {
            get
            {
                lock (_gate)
                {
                    return _closing;
                }
            }
        }

        public void Enter()
        {
            lock (_gate)
            {
                _running++;
            }
        }

        public void Exit()
        {
            lock (_gate)
            {
                if (_running > 0 && --_running == 0)
                {
                    _idle?.TrySetResult();
                }
            }
        }

        public void Abandon()
        {
            lock (_gate)
            {
                _running = 0;
                _idle?.TrySetResult();
            }
        }

        public Task CloseAsync()
        {
            lock (_gate)
            {
                _closing = true;
                if (_running == 0)
                {
                    return Task.CompletedTask;
                }

                _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return _idle.Task;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Draining: closing {ConnectionCount} connections over {PeriodSeconds} s; readiness and new connections answer 503")]
        public static partial void DrainStarted(ILogger logger, int connectionCount, double periodSeconds);

        [LoggerMessage(2, LogLevel.Information, "Drained in {Seconds:0.0} s: {HandedOff} connections handed off, {Remaining} still open")]
        public static partial void DrainFinished(ILogger logger, int handedOff, int remaining, double seconds);
    }
}
