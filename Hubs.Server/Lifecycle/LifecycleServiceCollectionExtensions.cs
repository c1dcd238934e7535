using Hubs.Server.Options;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Lifecycle;

internal static class LifecycleServiceCollectionExtensions
{
    private static readonly TimeSpan ShutdownMargin = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Graceful drain for <typeparamref name="THub"/>. Call after the lifetime manager (in-process or Redis) is
    /// registered: it is wrapped, not replaced.
    /// </summary>
    public static IServiceCollection AddHubsDrain<THub>(this IServiceCollection services)
        where THub : Hub
    {
        services.AddValidatedOptions<DrainOptions>(DrainOptions.Section);
        services.AddSingleton<NodeDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeDrain>());
        services.AddSingleton<IHostLifetime, DrainingConsoleLifetime>();
        services.AddOptions<HostOptions>().Configure<IOptions<DrainOptions>>((host, drain) =>
            host.ShutdownTimeout = TimeSpan.FromSeconds(drain.Value.PeriodSeconds) + ShutdownMargin);
        services.AddHealthChecks().AddCheck<DrainHealthCheck>("drain");

        // Sends to users go through IUserMessages (Redis registers its own first); see SubjectUserIdProvider.
        services.TryAddSingleton<LocalUserMessages>();
        services.TryAddSingleton<IUserMessages>(sp => sp.GetRequiredService<LocalUserMessages>());

        var registered = services.Last(d => d.ServiceType == typeof(HubLifetimeManager<>));
        var innerType = registered.ImplementationType!.MakeGenericType(typeof(THub));
        services.AddSingleton<HubLifetimeManager<THub>>(sp => new DrainAwareHubLifetimeManager<THub>(
            new UserMessagesHubLifetimeManager<THub>(
                (HubLifetimeManager<THub>)ActivatorUtilities.CreateInstance(sp, innerType),
                sp.GetRequiredService<IUserMessages>()),
            sp.GetRequiredService<NodeDrain>()));
        return services;
    }

    /// <summary>Not ready from the moment the drain begins, so load balancers stop sending new clients at once.</summary>
    private sealed class DrainHealthCheck(NodeDrain drain) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(drain.IsDraining ? HealthCheckResult.Unhealthy("draining") : HealthCheckResult.Healthy());
    }
}
