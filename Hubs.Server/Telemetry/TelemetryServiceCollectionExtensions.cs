using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Hubs.Server.Telemetry;

internal static class TelemetryServiceCollectionExtensions
{
    public static IServiceCollection AddHubsTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<HubsMetrics>();
        var otel = services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics.AddMeter(HubsMetrics.MeterName).AddAspNetCoreInstrumentation());

        // Export only where a collector is configured. Traces are only recorded then: a listener that nobody reads would
        // make every invocation and every request (each WebSocket's for its whole life) carry an Activity for nothing.
        if (!string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.WithTracing(tracing => tracing.AddSource(HubsMetrics.ActivitySourceName).AddAspNetCoreInstrumentation())
                .UseOtlpExporter();
        }

        return services;
    }
}
