using System.Net;
using System.Net.Http.Json;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration;

/// <summary>Acceptance 1 and T1: the server as a process, started the way users start it.</summary>
public sealed class ServerProcessTests
{
    private sealed record TokenResponse(string Token);

    [Test]
    public async Task Development_NoConfiguration_ServesHubWithDevTokens()
    {
        await using var server = ServerProcess.Start("Development");
        var baseAddress = await server.ListeningAsync();
        using var http = new HttpClient { BaseAddress = baseAddress };

        var live = await http.GetAsync(HubRoutes.Live);
        var aliceToken = await DevTokenAsync(http, "alice");
        var bobToken = await DevTokenAsync(http, "bob");
        await using var alice = Connection(baseAddress, aliceToken);
        await using var bob = Connection(baseAddress, bobToken);
        var received = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        await alice.StartAsync();
        await bob.StartAsync();
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest("lobby", RoomPermission.Public));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), "lobby");
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), "lobby");
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest("lobby", "hello from a fresh start"));

        var message = await received.WaitAsync();
        Assert.Multiple(() =>
        {
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((message.SenderId, message.Sequence, message.Text), Is.EqualTo(("alice", 1L, "hello from a fresh start")));
        });
    }

    [TestCase(null, TestName = "T1_Production_NoSigningKey_ExitsNamingTheSetting")]
    [TestCase("too-short-key", TestName = "T1_Production_ShortSigningKey_ExitsNamingTheSetting")]
    public async Task Production_MissingOrShortKey_ExitsNonZeroNamingTheSetting(string? key)
    {
        var variables = new Dictionary<string, string>();
        if (key is not null)
        {
            variables["Auth__SigningKey"] = key;
        }

        await using var server = ServerProcess.Start("Production", variables);
        var exitCode = await server.ExitCodeAsync();

        Assert.That(exitCode, Is.Not.EqualTo(0));
        Assert.That(server.Output, Does.Contain("Auth:SigningKey"));
        Assert.That(server.Output, Does.Not.Contain("Now listening"));
    }

    [Test]
    public async Task Startup_OutOfRangeLimit_ExitsNamingTheKey()
    {
        await using var server = ServerProcess.Start("Development", new Dictionary<string, string> { ["Hubs__Limits__MaxTextLength"] = "0" });

        Assert.That(await server.ExitCodeAsync(), Is.Not.EqualTo(0));
        Assert.That(server.Output, Does.Contain("Hubs:Limits:MaxTextLength"));
    }

    [Test]
    public async Task Production_WithKey_ServesButDoesNotMapDevToken()
    {
        await using var server = ServerProcess.Start("Production", new Dictionary<string, string> { ["Auth__SigningKey"] = TestTokens.SigningKey });
        using var http = new HttpClient { BaseAddress = await server.ListeningAsync() };

        var devToken = await http.PostAsJsonAsync(HubRoutes.DevToken, new { sub = "mallory" });
        var ready = await http.GetAsync(HubRoutes.Ready);

        Assert.That(devToken.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    private static async Task<string> DevTokenAsync(HttpClient http, string sub)
    {
        var response = await http.PostAsJsonAsync(HubRoutes.DevToken, new { sub, name = sub.ToUpperInvariant(), lifetimeSeconds = 600 });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TokenResponse>())!.Token;
    }

    private static HubConnection Connection(Uri baseAddress, string token) =>
        new HubConnectionBuilder()
            .WithUrl(new Uri(baseAddress, HubRoutes.Rooms), o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                o.Transports = HttpTransportType.WebSockets;
            })
            .Build();
}
