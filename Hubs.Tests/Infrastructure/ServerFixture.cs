using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// One real server per fixture; connections opened through <see cref="ConnectAsync"/> close after each test, and a
/// test fails when the server logged an error it did not expect.
/// </summary>
public abstract class ServerFixture
{
    private readonly List<HubConnection> _connections = [];
    private int _logCursor;
    private bool _errorsExpected;

    internal HubsTestServer Server { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartServerAsync()
    {
        Server = await HubsTestServer.StartAsync(Settings, ConfigureServices);
        await OnServerStartedAsync();
    }

    [OneTimeTearDown]
    public async Task StopServerAsync() => await Server.DisposeAsync();

    [SetUp]
    public void MarkLogs()
    {
        _logCursor = Server.Logs.Lines.Count;
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
            var errors = Server.Logs.Lines.Skip(_logCursor).Where(l => l.Level >= LogLevel.Error).Select(l => l.ToString());
            Assert.That(errors, Is.Empty, "unexpected error logs");
        }
    }

    protected virtual IDictionary<string, string?>? Settings => null;

    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    protected virtual Task OnServerStartedAsync() => Task.CompletedTask;

    /// <summary>The test provokes error logs on purpose.</summary>
    protected void ExpectErrorLogs() => _errorsExpected = true;

    protected async Task<HubConnection> ConnectAsync(string userId, string? name = null, IReadOnlyList<string>? roles = null)
    {
        var connection = await Server.ConnectAsync(userId, name, roles);
        _connections.Add(connection);
        return connection;
    }

    /// <summary>Tracks a connection the test built itself, so it is closed after the test.</summary>
    protected HubConnection Track(HubConnection connection)
    {
        _connections.Add(connection);
        return connection;
    }

    protected static string NewRoomId(string prefix = "room") => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
