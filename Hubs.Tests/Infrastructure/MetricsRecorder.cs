using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Infrastructure;

/// <summary>Records what one test server's <c>Hubs</c> meter reports (other servers in the process are ignored).</summary>
internal sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener;
    private readonly ConcurrentQueue<(string Instrument, long Value, string Tags)> _recorded = new();

    public MetricsRecorder(HubsTestServer server)
    {
        var factory = server.Services.GetRequiredService<IMeterFactory>();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Hubs" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            _recorded.Enqueue((instrument.Name, value, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")))));
        _listener.Start();
    }

    public IReadOnlyList<(string Instrument, long Value, string Tags)> All => _recorded.ToArray();

    /// <summary>The sum of everything recorded for <paramref name="instrument"/>, only with exactly these tags if given.</summary>
    public long Sum(string instrument, string? tags = null) =>
        _recorded.Where(r => r.Instrument == instrument && (tags is null || r.Tags == tags)).Sum(r => r.Value);

    public void Dispose() => _listener.Dispose();
}
