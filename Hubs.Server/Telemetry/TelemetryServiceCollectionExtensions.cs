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
            .WithMetrics(metrics => metrics.AddMeter(HubsMetrics.MeterName).AddAspNetCoreInstrumentation())
            .WithTracing(tracing => tracing.AddSource(HubsMetrics.ActivitySourceName).AddAspNetCoreInstrumentation());

        // Export only where a collector is configured; otherwise the SDK just feeds in-process listeners.
        if (!string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            otel.UseOtlpExporter();
        }

        return services;
    }
}
