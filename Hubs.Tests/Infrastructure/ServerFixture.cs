using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Infrastructure;

/// <summary>One real server per fixture, on in-process state.</summary>
public abstract class ServerFixture : HubsFixture
{
    internal HubsTestServer Server { get; private set; } = null!;

    internal override IReadOnlyList<HubsTestServer> Servers => [Server];

    [OneTimeSetUp]
    public async Task StartServerAsync()
    {
        Server = await HubsTestServer.StartAsync(Settings, ConfigureServices);
        await OnServerStartedAsync();
    }

    [OneTimeTearDown]
    public async Task StopServerAsync() => await Server.DisposeAsync();

    protected virtual IDictionary<string, string?>? Settings => null;

    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    protected virtual Task OnServerStartedAsync() => Task.CompletedTask;

    protected Task<HubConnection> ConnectAsync(string userId, string? name = null, IReadOnlyList<string>? roles = null) =>
        ConnectToAsync(Server, userId, name, roles);
}
