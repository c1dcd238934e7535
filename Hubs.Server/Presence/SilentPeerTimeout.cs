using System.IO.Pipelines;
using Hubs.Server.Infrastructure;
using Hubs.Server.Options;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Presence;

/// <summary>
/// Closes a connection from which nothing at all has arrived for the presence timeout, so that it leaves presence
/// (T19). SignalR's own client timeout only starts once a client has sent its first ping, so a peer that never
/// pings (a hung or hostile one, or a raw WebSocket) would otherwise stay connected, and present, for ever. Every
/// SignalR client pings well within the timeout (the server tells it nothing; the clients' default is 15 s against
/// the 30 s default here), so only silent peers are affected.
/// </summary>
internal static partial class SilentPeerTimeout
{
    public static IConnectionBuilder UseSilentPeerTimeout(this IConnectionBuilder connections)
    {
        var services = connections.ApplicationServices;
        var timeout = TimeSpan.FromSeconds(services.GetRequiredService<IOptions<PresenceOptions>>().Value.TimeoutSeconds);
        var time = services.GetRequiredService<TimeProvider>();
        var metrics = services.GetRequiredService<HubsMetrics>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SilentPeerTimeout).FullName!);
        return connections.Use(next => connection =>
        {
            var heartbeat = connection.Features.Get<IConnectionHeartbeatFeature>();
            if (heartbeat is not null)
            {
                var transport = connection.Transport;
                var reader = new WatchedReader(transport.Input, time);
                connection.Transport = new DuplexPipe(reader, transport.Output);
                heartbeat.OnHeartbeat(_ =>
                {
                    // Long polling keeps itself alive (and its clients do not ping): the transport times those out.
                    var inherent = connection.Features.Get<IConnectionInherentKeepAliveFeature>()?.HasInherentKeepAlive == true;
                    if (!inherent && reader.SilentFor() > timeout && reader.TryMarkClosed())
                    {
                        Log.SilentPeerDropped(logger, connection.ConnectionId, timeout.TotalSeconds);
                        metrics.SilentPeerDropped();
                        connection.Abort(new ConnectionAbortedException("Nothing received within the client timeout."));
                        transport.Input.CancelPendingRead();
                    }
                }, connection);
            }

            return next(connection);
        });
    }

    /// <summary>Forwards to the connection's reader and notes when anything last arrived.</summary>
    private sealed class WatchedReader(PipeReader inner, TimeProvider time) : PipeReader
    {
        private long _lastReceived = time.GetTimestamp();
        private int _closed;

        public TimeSpan SilentFor() => time.GetElapsedTime(Volatile.Read(ref _lastReceived));

        public bool TryMarkClosed() => Interlocked.Exchange(ref _closed, 1) == 0;

        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var read = inner.ReadAsync(cancellationToken);
            if (!read.IsCompletedSuccessfully)
            {
                return AwaitRead(read);
            }

            var result = read.GetAwaiter().GetResult();
            Received(result);
            return new(result);
        }

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }

            Received(result);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        private async ValueTask<ReadResult> AwaitRead(ValueTask<ReadResult> read)
        {
            var result = await read;
            Received(result);
            return result;
        }

        private void Received(ReadResult result)
        {
            if (!result.IsCanceled && !result.Buffer.IsEmpty)
            {
                Volatile.Write(ref _lastReceived, time.GetTimestamp());
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Closed connection {ConnectionId}: nothing received for {TimeoutSeconds} s")]
        public static partial void SilentPeerDropped(ILogger logger, string connectionId, double timeoutSeconds);
    }
}
