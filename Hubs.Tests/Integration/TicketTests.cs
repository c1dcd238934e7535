using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Hubs.Tests.Integration;

/// <summary>T4, T26: single-use tickets instead of JWTs in URLs, and nothing secret in the logs at any level.</summary>
public sealed class TicketTests : ServerFixture
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        // Everything a misconfigured deployment could turn on, traces included (recorded only where they are exported;
        // nothing listens on this port, and the test reads them in process).
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9",
        ["Logging:LogLevel:Default"] = "Debug",
        ["Logging:LogLevel:Microsoft"] = "Debug",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
        ["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Debug",
        ["Logging:LogLevel:Microsoft.AspNetCore.Server.Kestrel.BadRequests"] = "Debug",

        // A provider-specific rule outranks any rule that names no provider.
        [$"Logging:{typeof(CapturedLogs).FullName}:LogLevel:Microsoft"] = "Trace",
    };

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_time));

    [Test]
    public async Task T4_Ticket_WorksOnceNotTwiceNotAfterThirtySeconds()
    {
        var jwt = TestTokens.For("tina");
        var ticket = await IssueTicketAsync(jwt);

        var first = await TryConnectAsync(ticket.Ticket);
        var second = await TryConnectAsync(ticket.Ticket);
        var late = await IssueTicketAsync(jwt);
        _time.Advance(TimeSpan.FromSeconds(31));
        var expired = await TryConnectAsync(late.Ticket);
        var fresh = await TryConnectAsync((await IssueTicketAsync(jwt)).Ticket);

        Assert.Multiple(() =>
        {
            Assert.That(ticket.ExpiresInSeconds, Is.EqualTo(30));
            Assert.That(first, Is.True, "a ticket works");
            Assert.That(second, Is.False, "once");
            Assert.That(expired, Is.False, "not after 30 s");
            Assert.That(fresh, Is.True);
        });
    }

    [Test]
    public async Task T4_TicketEndpoint_RequiresJwtInHeader_TicketCannotBuyATicket()
    {
        var ticket = await IssueTicketAsync(TestTokens.For("tom"));
        using var http = new HttpClient();

        var withTicketInQuery = await http.PostAsync(new Uri(Server.BaseAddress, $"{HubRoutes.Ticket}?access_token={ticket.Ticket}"), null);
        using var withTicketAsBearer = new HttpRequestMessage(HttpMethod.Post, new Uri(Server.BaseAddress, HubRoutes.Ticket));
        withTicketAsBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ticket.Ticket);

        Assert.That(withTicketInQuery.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await http.SendAsync(withTicketAsBearer)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task T4_T26_QueryStringConnections_LogsHoldNoJwtNoTicketNoMessageText()
    {
        var jwt = TestTokens.For("lara");
        var ticket = (await IssueTicketAsync(jwt)).Ticket;
        const string body = "confidential-body-4f1c";
        var traced = new List<string>();
        using var traces = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (traced)
                {
                    traced.Add(activity.DisplayName + " " + string.Join(" ", activity.TagObjects.Select(t => $"{t.Key}={t.Value}")));
                }
            },
        };
        ActivitySource.AddActivityListener(traces);

        // A malformed request line, which Kestrel would quote in its log.
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(Server.BaseAddress.Host, Server.BaseAddress.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {HubRoutes.Rooms}?access_token={jwt} junk HTTP/1.1\r\nHost: x\r\n\r\n"));
            var reply = new byte[256];
            Assert.That(System.Text.Encoding.ASCII.GetString(reply, 0, await stream.ReadAsync(reply)), Does.StartWith("HTTP/1.1 400"));
        }

        var room = NewRoomId();
        // Browsers put the credential in the query string; so do these raw sockets.
        await using (var viaJwt = await RawHubSocket.ConnectAsync(Server.HubUrl, jwt))
        {
            await viaJwt.InvokeAsync(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
            Assert.That(await viaJwt.ReceiveTextAsync(), Does.Contain("\"result\""));
        }

        await using (var viaTicket = await RawHubSocket.ConnectAsync(Server.HubUrl, ticket))
        {
            await viaTicket.InvokeAsync(nameof(IRoomHub.JoinRoom), room);
            await viaTicket.InvokeAsync(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, body));
            await viaTicket.InvokeAsync(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, body + "\u0007"));
            var frames = string.Empty;
            while (!frames.Contains("invalid_argument"))
            {
                frames += await viaTicket.ReceiveTextAsync();
            }
        }

        var logs = Server.Logs.AllText();
        string spans;
        lock (traced)
        {
            spans = string.Join("\n", traced);
        }

        Assert.Multiple(() =>
        {
            Assert.That(logs, Does.Contain("/hubs/rooms").Or.Contain("RoomHub"), "the run was logged at all");
            Assert.That(spans, Does.Contain("url.query"), "the requests were traced");
            Assert.That(spans, Does.Not.Contain(jwt.Split('.')[1]).And.Not.Contain(ticket), "no JWT or ticket in traces");
            Assert.That(logs, Does.Not.Contain(jwt.Split('.')[1]), "no JWT");
            Assert.That(logs, Does.Not.Contain(ticket), "no ticket");
            Assert.That(logs, Does.Not.Contain(body), "no message text");
        });
    }

    private async Task<ConnectionTicket> IssueTicketAsync(string jwt)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Server.BaseAddress, HubRoutes.Ticket));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", jwt);
        var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ConnectionTicket>())!;
    }

    /// <summary>Connects as a browser does: the ticket (or token) as <c>access_token</c> in the hub URL.</summary>
    private async Task<bool> TryConnectAsync(string accessToken)
    {
        try
        {
            await using var socket = await RawHubSocket.ConnectAsync(Server.HubUrl, accessToken);
            return true;
        }
        catch (System.Net.WebSockets.WebSocketException)
        {
            return false;
        }
    }

    private sealed record ConnectionTicket(string Ticket, int ExpiresInSeconds);
}
