using Hubs.Contracts;
using Hubs.Server;
using Hubs.Server.Lifecycle;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;


namespace Hubs.Tests.Infrastructure;

/// <summary>The real Hubs server on Kestrel at 127.0.0.1 with a free port, configured for tests.</summary>
internal sealed class HubsTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HubsTestServer(WebApplication app, CapturedLogs logs, Uri baseAddress)
    {
        _app = app;
        Logs = logs;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public Uri HubUrl => new(BaseAddress, HubRoutes.Rooms);

    public CapturedLogs Logs { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<HubsTestServer> StartAsync(
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? configureServices = null,
        string environment = "Development")
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = environment,
            ApplicationName = typeof(HubsServerExtensions).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Auth:SigningKey"] = TestTokens.SigningKey,
            ["Auth:Issuer"] = TestTokens.Issuer,
            ["Auth:Audience"] = TestTokens.Audience,

            // Functional tests drive the hub far faster than a person would; the tests of the limits set their own.
            ["Hubs:Limits:InvocationsPerSecondPerConnection"] = "100000",
            ["Hubs:Limits:MessagesPerSecondPerUserPerRoom"] = "10000",
            ["Hubs:Limits:ConnectsPerMinutePerAddress"] = "1000000",

            // Stopping a test node drains it; connections a test left open need not hold up the teardown.
            ["Hubs:Drain:PeriodSeconds"] = "2",
        });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        var logs = new CapturedLogs();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.AddHubsServer();
        configureServices?.Invoke(builder.Services);
        RunLedgerRecorders.Add(builder.Services);

        var app = builder.Build();
        app.MapHubsEndpoints();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new HubsTestServer(app, logs, new Uri(address));
    }

    /// <summary>A raw SignalR connection over WebSockets, as any standard client would make it.</summary>
    public HubConnection Connection(string? token, bool skipNegotiation = true) =>
        new HubConnectionBuilder()
            .WithUrl(HubUrl, options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = skipNegotiation;
                if (token is not null)
                {
                    options.AccessTokenProvider = () => Task.FromResult<string?>(token);
                }
            })
            // Cluster fixtures use a 3 s presence timeout, which is also the server's client timeout: ping well within it.
            .WithKeepAliveInterval(TimeSpan.FromSeconds(1))
            .Build();

    public async Task<HubConnection> ConnectAsync(string userId, string? name = null, IReadOnlyList<string>? roles = null)
    {
        var connection = Connection(TestTokens.For(userId, name, roles));
        await connection.StartAsync();
        return connection;
    }

    /// <summary>Stops the host as SIGTERM does: the drain first, then the host.</summary>
    public async Task StopAsync()
    {
        await _app.Services.GetRequiredService<NodeDrain>().DrainAsync();
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            await _app.DisposeAsync();
        }
        catch (StackExchange.Redis.RedisException)
        {
            // The SignalR backplane unsubscribes while disposing; after a test that broke Redis on purpose that call
            // may time out. The node is gone either way.
        }
    }
}
