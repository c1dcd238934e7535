using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Hubs.Server.Telemetry;
using Hubs.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Unit.Options;

/// <summary>The Grafana dashboard in deploy/ only charts instruments the Hubs meter has (in their Prometheus names).</summary>
public sealed partial class DashboardTests
{
    [Test]
    public void GrafanaDashboard_ChartsOnlyInstrumentsOfTheHubsMeter()
    {
        using var services = new ServiceCollection().AddMetrics().AddSingleton<HubsMetrics>().BuildServiceProvider();
        var published = new HashSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == HubsMetrics.MeterName)
                {
                    published.Add(instrument.Name.Replace('.', '_'));
                }
            },
        };
        listener.Start();
        _ = services.GetRequiredService<HubsMetrics>();

        var dashboard = File.ReadAllText(Path.Combine(Repository.Root, "deploy", "grafana-dashboard.json"));
        var charted = MetricName().Matches(dashboard).Select(m => m.Value.EndsWith("_total", StringComparison.Ordinal) ? m.Value[..^"_total".Length] : m.Value).ToHashSet();

        Assert.Multiple(() =>
        {
            Assert.That(charted, Is.Not.Empty);
            Assert.That(charted, Is.SubsetOf(published), "every charted metric exists");
            Assert.That(published.Except(charted), Is.Empty, "every instrument of the meter is charted");
        });
    }

    [GeneratedRegex(@"\bhubs_[a-z_]+")]
    private static partial Regex MetricName();
}
