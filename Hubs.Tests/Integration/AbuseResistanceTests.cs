using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Hubs.Server.Presence;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration;

/// <summary>T14, T15: connection attempts are limited per address, before any token work; the node has a cap.</summary>
public sealed class ConnectionGateTests : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Hubs:Limits:ConnectsPerMinutePerAddress"] = "5",
        ["Hubs:Limits:MaxConnectionsPerNode"] = "3",
        ["Hubs:AllowedOrigins:0"] = "https://app.example",
    };

    [Test]
    public async Task T14_ConnectBurstFromOneAddress_ExcessGets429BeforeTokenWork_OtherAddressStillConnects()
    {
        using var first = Client(IPAddress.Parse("127.0.0.3"));
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 7; i++)
        {
            // No token at all: within the limit that is a 401; past it, 429 comes before authentication is even tried.
            var response = await first.PostAsync(new Uri(Server.BaseAddress, $"{HubRoutes.Rooms}/negotiate?negotiateVersion=1"), null);
            statuses.Add(response.StatusCode);
            refused ??= response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }

        using var other = Client(IPAddress.Parse("127.0.0.4"));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Server.BaseAddress, $"{HubRoutes.Rooms}/negotiate?negotiateVersion=1"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("someone"));
        var fromOther = await other.SendAsync(request);

        Assert.Multiple(() =>
        {
            Assert.That(statuses.Take(5), Has.All.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(statuses.Skip(5), Has.All.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(int.Parse(refused!.Headers.GetValues("Retry-After").Single()), Is.InRange(1, 60));
            Assert.That(fromOther.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another address is unaffected");
        });
    }

    [Test]
    public async Task T15_NodeCap_OneConnectionPastTheCapGets429()
    {
        var open = new List<HubConnection>();
        for (var i = 0; i < 3; i++)
        {
            open.Add(await Server.ConnectAsync($"capped{i}"));
        }

        var local = Server.Services.GetRequiredService<LocalConnections>();
        await Await.UntilAsync(() => local.Count == 3, "the node holds three connections");

        using var client = Client(IPAddress.Parse("127.0.1.9"));
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Server.BaseAddress, $"{HubRoutes.Rooms}/negotiate?negotiateVersion=1"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("one-too-many"));
        var response = await client.SendAsync(request);
        foreach (var connection in open)
        {
            await connection.DisposeAsync();
        }

        await Await.UntilAsync(() => local.Count == 0, "the node's connections are gone");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(response.Headers.Contains("Retry-After"), Is.True);
    }

    [Test]
    public async Task T23_ForeignOrigin_Refused403_AllowedOriginWorks()
    {
        using var client = Client(IPAddress.Parse("127.0.2.1"));
        async Task<HttpStatusCode> NegotiateFrom(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Server.BaseAddress, $"{HubRoutes.Rooms}/negotiate?negotiateVersion=1"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("browser-user"));
            request.Headers.Add("Origin", origin);
            return (await client.SendAsync(request)).StatusCode;
        }

        Assert.That(await NegotiateFrom("https://evil.example"), Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await NegotiateFrom("https://app.example"), Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>An HTTP client whose connections come from <paramref name="source"/> (any 127.0.0.0/8 address works on loopback).</summary>
    private static HttpClient Client(IPAddress source) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    });
}
