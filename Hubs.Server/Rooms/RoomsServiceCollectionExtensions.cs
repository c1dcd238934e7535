using Hubs.Contracts;
using Hubs.Server.Audit;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Rooms;

internal static class RoomsServiceCollectionExtensions
{
    public static ISignalRServerBuilder AddHubsRooms(this IServiceCollection services)
    {
        services.AddSingleton<IRoomStore, InMemoryRoomStore>();
        services.AddSingleton<IRoomViews, StoreRoomViews>();
        services.AddSingleton<IRoomMessageLog, InMemoryRoomMessageLog>();
        services.AddSingleton<IPresenceTracker, InMemoryPresenceTracker>();
        services.AddSingleton<TypingThrottle>();
        services.AddSingleton<PresenceDigests>();
        services.AddHostedService(sp => sp.GetRequiredService<PresenceDigests>());
        services.AddSingleton<PresenceAnnouncer>();
        services.AddSingleton<RoomEvictions>();
        services.AddSingleton<RoomMessagePublisher>();
        services.AddSingleton<RoomAdministration>();
        services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();
        services.AddSingleton<IUserBans, InMemoryUserBans>();
        services.AddValidatedOptions<AuditOptions>(AuditOptions.Section);
        services.AddSingleton<IAuditStore, InMemoryAuditStore>();
        services.AddSingleton<AuditTrail>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, AuditedAuthorizationResults>();
        services.AddSingleton<LocalUserDisconnects>();
        services.AddSingleton<IUserDisconnects>(sp => sp.GetRequiredService<LocalUserDisconnects>());
        services.AddSingleton<ConnectionDeparture>();
        services.AddSingleton<LocalConnections>();
        services.AddSingleton<InvocationRateLimiter>();
        services.AddSingleton<InMemorySendAdmission>();
        services.AddSingleton(sp => new HubArgumentRules(sp.GetRequiredService<IOptions<LimitsOptions>>().Value));
        services.AddScoped<RoomInvocation>();
        services.AddSingleton<RoomHubFilter>();

        var signalR = services.AddSignalR(hub =>
        {
            // Clients only ever see the "<code>: <text> (ref <id>)" the filter builds (T10).
            hub.EnableDetailedErrors = false;
            hub.AddFilter<RoomHubFilter>();
        });
        // JSON (always) and MessagePack (for clients that ask for it), each wrapped to keep errors in the contract's shape.
        services.RemoveAll<IHubProtocol>();
        services.AddSingleton<IHubProtocol>(sp => ActivatorUtilities.CreateInstance<ContractErrorProtocol>(
            sp, new JsonHubProtocol(sp.GetRequiredService<IOptions<JsonHubProtocolOptions>>())));
        services.AddSingleton<IHubProtocol>(sp => ActivatorUtilities.CreateInstance<ContractErrorProtocol>(
            sp, new MessagePackHubProtocol(sp.GetRequiredService<IOptions<MessagePackHubProtocolOptions>>())));
        // The room hub's own options: SignalR reads these for RoomHub and does not fall back to the global ones.
        services.AddOptions<HubOptions<RoomHub>>().Configure<IOptions<LimitsOptions>, IOptions<PresenceOptions>>((hub, limits, presence) =>
        {
            hub.MaximumReceiveMessageSize = limits.Value.MaxMessageBytes;

            // A peer that sends nothing (not even a ping) for the presence timeout is dropped and leaves presence (T19).
            hub.ClientTimeoutInterval = TimeSpan.FromSeconds(presence.Value.TimeoutSeconds);
            hub.KeepAliveInterval = TimeSpan.FromSeconds(Math.Min(15, presence.Value.TimeoutSeconds / 2.0));
        });

        // Sends overlap (their round trips to Redis no longer queue one behind the other, and deliveries that arrive
        // together go out together); ConnectionInvocations keeps everything else one at a time and in order. Set on the
        // global options: SignalR copies this one from them into the hub's own, whatever the hub's own say.
        services.AddOptions<HubOptions>().Configure<IOptions<LimitsOptions>>((hub, limits) =>
            hub.MaximumParallelInvocationsPerClient = limits.Value.ParallelInvocationsPerConnection);
        return signalR;
    }

    public static IEndpointRouteBuilder MapHubsRooms(this IEndpointRouteBuilder endpoints)
    {
        var limits = endpoints.ServiceProvider.GetRequiredService<IOptions<LimitsOptions>>().Value;
        var connection = new HttpConnectionDispatcherOptions
        {
            // The transport closes the connection when the token's lifetime ends (T3).
            CloseOnAuthenticationExpiration = true,

            // The outgoing pipe: when it is this full the connection is behind (SlowConsumerGuard, T21). A socket
            // that accepts nothing at all for twice the guard's bound is closed by the transport itself.
            ApplicationMaxBufferSize = limits.OutboundBufferBytes,
            TransportSendTimeout = TimeSpan.FromSeconds(2 * limits.SlowConsumerTimeoutSeconds),
        };

        // What MapHub does, with connection middleware in front of the hub: silent peers are closed (T19), slow readers
        // cannot hold anyone up (T21), and the protocol knows whose invocations it parses (T13).
        var hubEndpoint = endpoints.MapConnections(HubRoutes.Rooms, connection, hub => hub
            .UseSilentPeerTimeout()
            .UseSlowConsumerGuard()
            .UseCurrentConnection()
            .UseHub<RoomHub>());
        hubEndpoint.Add(endpoint => endpoint.Metadata.Add(new HubMetadata(typeof(RoomHub))));
        hubEndpoint.RequireAuthorization(policy => policy
            .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
            .RequireAuthenticatedUser());
        return endpoints;
    }
}
