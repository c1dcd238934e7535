using Hubs.Server.Audit;
using Hubs.Server.Authorization;
using Hubs.Server.Lifecycle;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.Rooms;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

internal static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// With <c>Redis:Configuration</c> set: one shared multiplexer for the SignalR backplane and for state, Redis
    /// implementations of every store, node liveness, the subscriptions, and a readiness check that waits for them.
    /// Nothing here needs Redis to start: a node started before its Redis is live, not ready, and becomes ready by
    /// itself (T28). Without the setting: nothing changes.
    /// </summary>
    public static void AddHubsRedis(this ISignalRServerBuilder signalR, IConfiguration configuration)
    {
        var services = signalR.Services;
        services.AddValidatedOptions<RedisOptions>(RedisOptions.Section);
        if (string.IsNullOrWhiteSpace(configuration[$"{RedisOptions.Section}:Configuration"]))
        {
            return;
        }

        services.AddSingleton<IConnectionMultiplexer>(sp => Connect(sp.GetRequiredService<IOptions<RedisOptions>>().Value));
        services.AddSingleton<RedisKeys>();
        services.AddSingleton<RedisGateway>();
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<RedisSubscriptions>();
        services.AddSingleton<IHubDependency>(sp => sp.GetRequiredService<RedisSubscriptions>());
        services.AddSingleton<CachedRoomViews>();
        services.Replace(ServiceDescriptor.Singleton<IRoomViews>(sp => sp.GetRequiredService<CachedRoomViews>()));
        services.AddHostedService(sp => sp.GetRequiredService<CachedRoomViews>());
        services.Replace(ServiceDescriptor.Singleton<IRoomStore, RedisRoomStore>());
        services.Replace(ServiceDescriptor.Singleton<IRoomMessageLog, RedisRoomMessageLog>());
        services.Replace(ServiceDescriptor.Singleton<ITicketStore, RedisTicketStore>());
        services.Replace(ServiceDescriptor.Singleton<IUserBans, RedisUserBans>());
        services.Replace(ServiceDescriptor.Singleton<IAuditStore, RedisAuditStore>());
        services.AddSingleton<RedisUserDisconnects>();
        services.Replace(ServiceDescriptor.Singleton<IUserDisconnects>(sp => sp.GetRequiredService<RedisUserDisconnects>()));
        services.AddHostedService(sp => sp.GetRequiredService<RedisUserDisconnects>());
        services.TryAddSingleton<LocalUserMessages>();
        services.AddSingleton<RedisUserMessages>();
        services.AddSingleton<IUserMessages>(sp => sp.GetRequiredService<RedisUserMessages>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisUserMessages>());
        services.AddSingleton<RedisPresenceTracker>();
        services.Replace(ServiceDescriptor.Singleton<IPresenceTracker>(sp => sp.GetRequiredService<RedisPresenceTracker>()));
        services.AddSingleton<NodeLiveness>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeLiveness>());
        services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis");

        // Started after the services above have added their channels, and before the server listens (it waits for its
        // first round): a node whose Redis is up is ready when it takes its first connection.
        services.AddHostedService(sp => sp.GetRequiredService<RedisSubscriptions>());

        signalR.AddStackExchangeRedis(options => { });
        services.AddOptions<Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions>()
            .Configure<IConnectionMultiplexer, RedisKeys, RedisSubscriptions>((backplane, redis, keys, subscriptions) =>
            {
                backplane.Configuration.ChannelPrefix = keys.BackplanePrefix;

                // The backplane subscribes its own channels (all, group management, acks, client results) once, when
                // it first gets its connection, and never again if Redis is away then. So it gets the multiplexer only
                // once subscriptions hold; until then the factory fails and the backplane asks again at its next use,
                // the first hub connection, which the gate and readiness hold back until the same moment.
                backplane.ConnectionFactory = _ => subscriptions.Established
                    ? Task.FromResult(redis)
                    : Task.FromException<IConnectionMultiplexer>(new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is not reachable yet"));
            });
    }

    private static ConnectionMultiplexer Connect(RedisOptions options)
    {
        var configuration = ConfigurationOptions.Parse(options.Configuration!);

        // Start and keep running while Redis is away: calls fail fast (the gateway answers "unavailable") and the
        // multiplexer reconnects by itself when Redis returns.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectTimeout = 2000;
        configuration.AsyncTimeout = 1000;
        configuration.SyncTimeout = 1000;
        configuration.ReconnectRetryPolicy = new LinearRetry(500);
        configuration.ClientName ??= "hubs";
        configuration.SocketManager = SocketManager.ThreadPool;
        return ConnectionMultiplexer.Connect(configuration);
    }
}
