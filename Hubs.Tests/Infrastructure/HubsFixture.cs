using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// What every integration fixture shares: connections a test opens are closed after it, and a test fails when any
/// server logged an error it did not declare as expected.
/// </summary>
public abstract class HubsFixture
{
    private readonly List<HubConnection> _connections = [];
    private int[] _logCursors = [];
    private bool _errorsExpected;

    internal abstract IReadOnlyList<HubsTestServer> Servers { get; }

    [SetUp]
    public void MarkLogs()
    {
        _logCursors = Servers.Select(s => s.Logs.Lines.Count).ToArray();
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
            var errors = Servers.SelectMany((s, i) => s.Logs.Lines.Skip(_logCursors.ElementAtOrDefault(i)))
                .Where(l => l.Level >= LogLevel.Error).Select(l => l.ToString());
            Assert.That(errors, Is.Empty, "unexpected error logs");
        }
    }

    /// <summary>The test provokes error logs on purpose.</summary>
    protected void ExpectErrorLogs() => _errorsExpected = true;

    /// <summary>Tracks a connection the test built itself, so it is closed after the test.</summary>
    protected HubConnection Track(HubConnection connection)
    {
        _connections.Add(connection);
        return connection;
    }

    private protected async Task<HubConnection> ConnectToAsync(HubsTestServer server, string userId, string? name, IReadOnlyList<string>? roles) =>
        Track(await server.ConnectAsync(userId, name, roles));

    protected static string NewRoomId(string prefix = "room") => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
