using System.Net;
using System.Net.WebSockets;
using Hubs.Client;
using Hubs.LoadTest;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Unit.LoadTest;

public sealed class RefusedReconnectCounterTests
{
    private const int ReconnectFailed = 4;

    [Test]
    public void Log_ReconnectRefusedByAServer_CountedByCode()
    {
        var errors = new ErrorCounter();
        var logger = new RefusedReconnectCounter(errors).CreateLogger(typeof(HubsClient).FullName!);

        Failed(logger, new HubsException("unavailable", "unavailable: draining"));
        Failed(logger, new WebSocketException(WebSocketError.NotAWebSocket, "The server returned status code '503' when status code '101' was expected."));
        Failed(logger, new HttpRequestException("refused", null, HttpStatusCode.TooManyRequests));

        Assert.That(errors.Snapshot(), Is.EqualTo(new Dictionary<string, long> { ["http_429"] = 1, ["http_503"] = 1, ["unavailable"] = 1 }));
    }

    [Test]
    public void Log_TheClientsOwnReconnectFailedLine_Counted()
    {
        // The counter knows the client's line by its event id: this keeps the two from drifting apart.
        var errors = new ErrorCounter();
        var logger = new RefusedReconnectCounter(errors).CreateLogger(typeof(HubsClient).FullName!);

        ClientLog.ReconnectFailed(logger, new HubsException("unavailable", "unavailable: draining"), 2);

        Assert.That(errors.Snapshot(), Is.EqualTo(new Dictionary<string, long> { ["unavailable"] = 1 }));
    }

    [Test]
    public void Log_NodeGoneOrOtherEventsOrOtherCategories_NotCounted()
    {
        var errors = new ErrorCounter();
        var counter = new RefusedReconnectCounter(errors);
        var client = counter.CreateLogger(typeof(HubsClient).FullName!);

        Failed(client, new WebSocketException(WebSocketError.Faulted, "Unable to connect to the remote server", new HttpRequestException("Connection refused")));
        Failed(client, new HttpRequestException("Connection refused"));
        client.Log(LogLevel.Information, new EventId(9), "unreachable", new HubsException("unavailable", "unavailable"), (s, _) => s);
        Failed(counter.CreateLogger("Microsoft.AspNetCore.SignalR.Client.HubConnection"), new HubsException("unavailable", "unavailable"));

        Assert.That(errors.Total, Is.EqualTo(0));
    }

    private static void Failed(ILogger logger, Exception error) =>
        logger.Log(LogLevel.Information, new EventId(ReconnectFailed), "Reconnect attempt 1 failed", error, (s, _) => s);
}
