using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Infrastructure;

/// <summary>A real redis-server and <see cref="NodeCount"/> Hubs nodes sharing it, once per fixture.</summary>
public abstract class ClusterFixture : HubsFixture
{
    public const int PresenceTimeoutSeconds = 3;

    internal RedisServer Redis { get; private set; } = null!;

    internal IReadOnlyList<HubsTestServer> Nodes { get; private set; } = [];

    internal override IReadOnlyList<HubsTestServer> Servers => Nodes;

    protected virtual int NodeCount => 3;

    protected virtual IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        Redis = await RedisServer.StartAsync();
        var settings = new Dictionary<string, string?>(ExtraSettings)
        {
            ["Redis:Configuration"] = Redis.Configuration,
            ["Hubs:Presence:TimeoutSeconds"] = PresenceTimeoutSeconds.ToString(),
        };
        var nodes = new List<HubsTestServer>();
        for (var i = 0; i < NodeCount; i++)
        {
            nodes.Add(await HubsTestServer.StartAsync(settings, ConfigureServices));
        }

        Nodes = nodes;
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
    }

    protected Task<HubConnection> ConnectAsync(int node, string userId, string? name = null, IReadOnlyList<string>? roles = null) =>
        ConnectToAsync(Nodes[node], userId, name, roles);

    /// <summary>One more node as its own process, with <paramref name="doomed"/> in a room that watchers on this cluster's nodes follow.</summary>
    private protected Task<DoomedNode> StartDoomedNodeAsync(params string[] doomed) =>
        DoomedNode.StartAsync(Redis.Configuration, PresenceTimeoutSeconds, (i, user) => ConnectAsync(i % NodeCount, user), Track, doomed);
}
