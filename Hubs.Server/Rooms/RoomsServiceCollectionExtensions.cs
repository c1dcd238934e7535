using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Microsoft.AspNetCore.Authentication.JwtBearer;
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
        services.AddSingleton<IRoomMessageLog, InMemoryRoomMessageLog>();
        services.AddSingleton<IPresenceTracker, InMemoryPresenceTracker>();
        services.AddSingleton<TypingThrottle>();
        services.AddSingleton<RoomEvictions>();
        services.AddSingleton<ConnectionDeparture>();
        services.AddSingleton<LocalConnections>();
        services.AddSingleton(sp => new HubArgumentRules(sp.GetRequiredService<IOptions<LimitsOptions>>().Value));
        services.AddScoped<RoomInvocation>();
        services.AddSingleton<RoomHubFilter>();

        var signalR = services.AddSignalR(hub =>
        {
            // Clients only ever see the "<code>: <text> (ref <id>)" the filter builds (T10).
            hub.EnableDetailedErrors = false;
            hub.AddFilter<RoomHubFilter>();
        });
        // Replace the JSON protocol SignalR registered with the one that keeps errors in the contract's shape.
        services.RemoveAll<IHubProtocol>();
        services.AddSingleton<IHubProtocol, ContractErrorProtocol>();
        services.AddOptions<HubOptions>().Configure<IOptions<LimitsOptions>>((hub, limits) =>
            hub.MaximumReceiveMessageSize = limits.Value.MaxMessageBytes);
        return signalR;
    }

    public static IEndpointRouteBuilder MapHubsRooms(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHub<RoomHub>(HubRoutes.Rooms, connection =>
        {
            // The transport closes the connection when the token's lifetime ends (T3).
            connection.CloseOnAuthenticationExpiration = true;
        }).RequireAuthorization(policy => policy
            .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
            .RequireAuthenticatedUser());
        return endpoints;
    }
}
