using System.Buffers;
using System.IO.Pipelines;
using Hubs.Server.Infrastructure;
using Hubs.Server.Options;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace Hubs.Server.RateLimiting;

/// <summary>
/// Keeps a client that reads slowly, or not at all, from delaying anyone else (T21).
/// </summary>
/// <remarks>
/// SignalR writes every outgoing message into the connection's pipe, and once the pipe holds
/// <see cref="LimitsOptions.OutboundBufferBytes"/> (SignalR's <c>ApplicationMaxBufferSize</c>) the writer waits for
/// the client. A group send waits for its slowest member, so one stalled reader stalls the sender, and with the Redis
/// backplane every later message of that room on the node. The guard sits between SignalR and the pipe: while the
/// pipe is full it holds further writes (at most <see cref="LimitsOptions.OutboundBufferBytes"/> more) without making
/// the writer wait, and releases them as soon as the client has caught up. A client that stays behind for longer
/// than <see cref="LimitsOptions.SlowConsumerTimeoutSeconds"/>, or would need more than that, is dropped; the drop
/// is logged with the connection id and counted. A short stall is absorbed: nobody is dropped for one full buffer.
/// </remarks>
internal static partial class SlowConsumerGuard
{
    public static IConnectionBuilder UseSlowConsumerGuard(this IConnectionBuilder connections)
    {
        var services = connections.ApplicationServices;
        var limits = services.GetRequiredService<IOptions<LimitsOptions>>().Value;
        var settings = new Settings(
            limits.OutboundBufferBytes,
            TimeSpan.FromSeconds(limits.SlowConsumerTimeoutSeconds),
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<HubsMetrics>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SlowConsumerGuard).FullName!));
        return connections.Use(next => connection =>
        {
            var transport = connection.Transport;
            connection.Transport = new DuplexPipe(transport.Input, new GuardedWriter(transport, connection, settings));
            return next(connection);
        });
    }

    private sealed record Settings(long MaxHeldBytes, TimeSpan Timeout, TimeProvider Time, HubsMetrics Metrics, ILogger Logger);

    /// <summary>
    /// Forwards to the connection's pipe writer. While the pipe is above its pause threshold ("behind") flushes do
    /// not reach the pipe: the bytes stay written but unflushed, and <see cref="WatchAsync"/> flushes them once the
    /// pipe has drained. Every call into the pipe writer happens under <see cref="_gate"/>, so the watcher never
    /// flushes in the middle of a message.
    /// </summary>
    private sealed class GuardedWriter(IDuplexPipe transport, ConnectionContext connection, Settings settings) : PipeWriter
    {
        private readonly PipeWriter _inner = transport.Output;
        private readonly Lock _gate = new();
        private bool _writing;
        private long _advanced;
        private bool _behind;
        private long _behindSince;
        private long _held;
        private bool _closed;
        private bool _passThrough;

        public override bool CanGetUnflushedBytes => _inner.CanGetUnflushedBytes;

        public override long UnflushedBytes
        {
            get
            {
                lock (_gate)
                {
                    return _inner.UnflushedBytes;
                }
            }
        }

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            lock (_gate)
            {
                _writing = true;
                return _inner.GetMemory(sizeHint);
            }
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            lock (_gate)
            {
                _writing = true;
                return _inner.GetSpan(sizeHint);
            }
        }

        public override void Advance(int bytes)
        {
            lock (_gate)
            {
                _inner.Advance(bytes);
                _advanced += bytes;
            }
        }

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
        {
            this.Write(source.Span);
            return FlushAsync(cancellationToken);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            string? dropReason = null;
            lock (_gate)
            {
                _writing = false;
                var written = _advanced;
                _advanced = 0;
                if (_closed)
                {
                    return new(new FlushResult(isCanceled: false, isCompleted: true));
                }

                if (_passThrough)
                {
                    // SignalR is closing the connection and writes its close message: plain pipe behaviour, in order
                    // after anything held.
                    return _inner.FlushAsync(cancellationToken);
                }

                if (_behind)
                {
                    _held += written;
                    if (_held > settings.MaxHeldBytes)
                    {
                        dropReason = DropReasons.Buffer;
                        Close();
                    }
                }
                else
                {
                    // No token: a cancelled flush would leave the pipe unpaused while over its threshold, unbounded.
                    var flush = _inner.FlushAsync(CancellationToken.None);
                    if (flush.IsCompleted)
                    {
                        return flush;
                    }

                    _behind = true;
                    _held = 0;
                    _behindSince = settings.Time.GetTimestamp();
                    settings.Metrics.ConnectionBehind(true);
                    _ = WatchAsync(flush.AsTask());
                }
            }

            if (dropReason is not null)
            {
                Drop(dropReason);
            }

            return default;
        }

        public override void CancelPendingFlush()
        {
            // SignalR cancels only when it aborts the connection. It may still write a close message after this, so
            // stop guarding rather than stop writing.
            lock (_gate)
            {
                if (_behind)
                {
                    CaughtUp();
                }

                _passThrough = true;
                _inner.CancelPendingFlush();
            }
        }

        public override void Complete(Exception? exception = null)
        {
            lock (_gate)
            {
                Close();
                _inner.Complete(exception);
            }
        }

        public override ValueTask CompleteAsync(Exception? exception = null)
        {
            Complete(exception);
            return default;
        }

        /// <summary>Waits for the pipe to drain, then flushes what was held, until the client has caught up.</summary>
        private async Task WatchAsync(Task<FlushResult> flush)
        {
            try
            {
                while (true)
                {
                    var remaining = settings.Timeout - settings.Time.GetElapsedTime(_behindSince);
                    FlushResult result;
                    try
                    {
                        result = await flush.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, settings.Time);
                    }
                    catch (TimeoutException)
                    {
                        lock (_gate)
                        {
                            if (_closed || _passThrough)
                            {
                                return;
                            }

                            Close();
                        }

                        Drop(DropReasons.Timeout);
                        return;
                    }

                    lock (_gate)
                    {
                        if (_closed || _passThrough)
                        {
                            // Dropped, or SignalR is closing the connection and flushes for itself.
                            return;
                        }

                        if (result.IsCompleted)
                        {
                            // The transport has stopped reading: the connection is gone.
                            Close();
                            return;
                        }

                        if (_held == 0 || _writing)
                        {
                            // Caught up. A message being written right now flushes the held bytes with its own.
                            CaughtUp();
                            return;
                        }

                        _held = 0;
                        var next = _inner.FlushAsync(CancellationToken.None);
                        if (next.IsCompleted)
                        {
                            next.GetAwaiter().GetResult();
                            CaughtUp();
                            return;
                        }

                        flush = next.AsTask();
                    }
                }
            }
            catch (Exception)
            {
                // The pipe failed: the transport has gone, and the connection with it.
                lock (_gate)
                {
                    Close();
                }
            }
        }

        // Callers hold _gate.
        private void CaughtUp()
        {
            _behind = false;
            _held = 0;
            settings.Metrics.ConnectionBehind(false);
        }

        // Callers hold _gate.
        private void Close()
        {
            if (_behind)
            {
                CaughtUp();
            }

            _closed = true;
        }

        private void Drop(string reason)
        {
            Log.SlowConsumerDropped(settings.Logger, connection.ConnectionId, reason, settings.Timeout.TotalSeconds, settings.MaxHeldBytes);
            settings.Metrics.SlowConsumerDropped(reason);

            // Ends the hub's receive loop (disconnect, presence, cleanup) and the transport; nothing more is written.
            connection.Abort(new ConnectionAbortedException("Slow consumer."));
            transport.Input.CancelPendingRead();
        }
    }

    private static class DropReasons
    {
        public const string Buffer = "buffer";
        public const string Timeout = "timeout";
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning,
            "Dropped slow consumer {ConnectionId} ({Reason}): behind for longer than {TimeoutSeconds} s or by more than {MaxHeldBytes} bytes past its outgoing buffer")]
        public static partial void SlowConsumerDropped(ILogger logger, string connectionId, string reason, double timeoutSeconds, long maxHeldBytes);
    }
}
