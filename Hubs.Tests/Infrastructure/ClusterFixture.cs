using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Infrastructure;

/// <summary>A real redis-server and <see cref="NodeCount"/> Hubs nodes sharing it, once per fixture.</summary>
public abstract class ClusterFixture
{
    public const int PresenceTimeoutSeconds = 3;

    private readonly List<HubConnection> _connections = [];
    private readonly List<int> _logCursors = [];
    private bool _errorsExpected;

    internal RedisServer Redis { get; private set; } = null!;

    internal IReadOnlyList<HubsTestServer> Nodes { get; private set; } = [];

    protected virtual int NodeCount => 3;

    internal IDictionary<string, string?> NodeSettings
    {
        get
        {
            var settings = new Dictionary<string, string?>(ExtraSettings)
            {
                ["Redis:Configuration"] = Redis.Configuration,
                ["Hubs:Presence:TimeoutSeconds"] = PresenceTimeoutSeconds.ToString(),
            };
            return settings;
        }
    }

    protected virtual IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        Redis = await RedisServer.StartAsync();
        var nodes = new List<HubsTestServer>();
        for (var i = 0; i < NodeCount; i++)
        {
            nodes.Add(await HubsTestServer.StartAsync(NodeSettings));
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

    [SetUp]
    public void MarkLogs()
    {
        _logCursors.Clear();
        _logCursors.AddRange(Nodes.Select(n => n.Logs.Lines.Count));
        _errorsExpected = false;
    }

    [TearDown]
    public async Task CloseConnectionsAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        _connections.Clear();
        if (!_errorsExpected)
        {
            var errors = Nodes.SelectMany((n, i) => n.Logs.Lines.Skip(_logCursors.ElementAtOrDefault(i)))
                .Where(l => l.Level >= LogLevel.Error).Select(l => l.ToString());
            Assert.That(errors, Is.Empty, "unexpected error logs");
        }
    }

    protected void ExpectErrorLogs() => _errorsExpected = true;

    protected async Task<HubConnection> ConnectAsync(int node, string userId, string? name = null, IReadOnlyList<string>? roles = null)
    {
        var connection = await Nodes[node].ConnectAsync(userId, name, roles);
        _connections.Add(connection);
        return connection;
    }

    protected HubConnection Track(HubConnection connection)
    {
        _connections.Add(connection);
        return connection;
    }

    protected static string NewRoomId(string prefix = "room") => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
