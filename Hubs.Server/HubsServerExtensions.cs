using Hubs.Contracts;
using Hubs.Server.Admin;
using Hubs.Server.Authorization;
using Hubs.Server.Demo;
using Hubs.Server.Infrastructure.Redis;
using Hubs.Server.Lifecycle;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.RateLimiting;
using Hubs.Server.Rooms;
using Hubs.Server.Telemetry;

namespace Hubs.Server;

/// <summary>Composition of the features; <c>Program.cs</c> calls these two and nothing else.</summary>
internal static class HubsServerExtensions
{
    public static WebApplicationBuilder AddHubsServer(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section);
        services.AddValidatedOptions<PresenceOptions>(PresenceOptions.Section);
        services.AddValidatedOptions<HistoryOptions>(HistoryOptions.Section);
        services.AddValidatedOptions<HubsOptions>(HubsOptions.Section);

        services.AddHubsAuthentication();
        services.AddHubsAdminApi();
        services.AddHubsTelemetry(builder.Configuration);
        services.AddHubsRooms().AddHubsRedis(builder.Configuration);
        services.AddHubsDrain<RoomHub>();
        services.AddHealthChecks();

        // Categories that could log a token are pinned, whatever the configuration says (T4, T26).
        builder.Logging.AddHubsLogDefaults();
        return builder;
    }

    public static WebApplication MapHubsEndpoints(this WebApplication app)
    {
        app.UseHubsConnectionGate();
        app.UseHubsAdminProblems();
        app.UseAuthentication();

        // Between the two: the admin API's limit partitions by the authenticated caller, and also holds for callers
        // that authorization turns away (by address), whose denials would otherwise flood the capped audit store.
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseUserBans();

        app.MapHubsRooms();
        app.MapHubsAdminApi();
        app.MapConnectionTickets();
        app.MapHealthChecks(HubRoutes.Live, new() { Predicate = _ => false });
        app.MapHealthChecks(HubRoutes.Ready);
        if (app.Environment.IsDevelopment())
        {
            app.MapDevToken();
            app.MapDemo();
        }

        return app;
    }
}
