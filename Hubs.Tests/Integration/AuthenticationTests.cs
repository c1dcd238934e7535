using System.Net;
using System.Net.Http.Headers;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration;

/// <summary>T2, T3, T1 (well-known keys): only valid tokens connect, and connections end with their token.</summary>
public sealed class AuthenticationTests : ServerFixture
{
    private static IEnumerable<TestCaseData> BadTokens()
    {
        yield return new TestCaseData(TestTokens.For("alice", key: "an-attacker-chosen-key-0123456789abcdef")).SetName("T2_Connect_ForgedSignature_Refused401");
        yield return new TestCaseData(TestTokens.Unsigned("alice")).SetName("T2_Connect_AlgNoneUnsigned_Refused401");
        yield return new TestCaseData(TestTokens.For("alice", issuer: "someone-else")).SetName("T2_Connect_WrongIssuer_Refused401");
        yield return new TestCaseData(TestTokens.For("alice", audience: "another-app")).SetName("T2_Connect_WrongAudience_Refused401");
        yield return new TestCaseData(TestTokens.For("alice", lifetime: TimeSpan.FromMinutes(-2))).SetName("T2_Connect_ExpiredBeyondSkew_Refused401");
        yield return new TestCaseData(TestTokens.For(null)).SetName("T2_Connect_NoSubject_Refused401");
        yield return new TestCaseData(TestTokens.For("")).SetName("T2_Connect_EmptySubject_Refused401");
        yield return new TestCaseData("not-a-jwt").SetName("T2_Connect_Garbage_Refused401");
        // Secrets that appear in tutorials and defaults: none of them is a key here (T1).
        yield return new TestCaseData(TestTokens.For("alice", key: "your-256-bit-secret-your-256-bit-secret")).SetName("T1_Connect_WellKnownTutorialKey_Refused401");
        yield return new TestCaseData(TestTokens.For("alice", key: "super-secret-key-change-me-please-0000")).SetName("T1_Connect_WellKnownDefaultKey_Refused401");
    }

    [TestCaseSource(nameof(BadTokens))]
    public async Task Connect_BadToken_Refused(string token)
    {
        using var http = new HttpClient { BaseAddress = Server.BaseAddress };
        using var negotiate = new HttpRequestMessage(HttpMethod.Post, $"{HubRoutes.Rooms}/negotiate?negotiateVersion=1");
        negotiate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(negotiate);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));

        // The same token in the query string over a WebSocket upgrade is refused too.
        await using var connection = Server.Connection(token);
        Assert.That(async () => await connection.StartAsync(), Throws.Exception);
        Assert.That(connection.State, Is.EqualTo(HubConnectionState.Disconnected));
    }

    [Test]
    public async Task Connect_NoToken_Refused()
    {
        await using var connection = Server.Connection(token: null, skipNegotiation: false);
        var error = Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync());
        Assert.That(error!.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Connect_ValidTokenInHeaderOrQuery_Accepted()
    {
        using var http = new HttpClient { BaseAddress = Server.BaseAddress };
        using var negotiate = new HttpRequestMessage(HttpMethod.Post, $"{HubRoutes.Rooms}/negotiate?negotiateVersion=1");
        negotiate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("alice"));
        using var response = await http.SendAsync(negotiate);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // WebSockets from .NET send the token as access_token in the query; the hub accepts it there.
        await using var connection = await Server.ConnectAsync("alice");
        Assert.That(await connection.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms)), Is.Not.Null);
    }

    [Test]
    public async Task T3_Connection_TokenExpires_ServerClosesItAndLaterCallsDoNotRun()
    {
        await using var connection = Server.Connection(TestTokens.For("shortlived", lifetime: TimeSpan.FromSeconds(3)));
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        await connection.StartAsync();
        var room = "expiry-" + Guid.NewGuid().ToString("N")[..8];
        await connection.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));

        await closed.Task.Within(TimeSpan.FromSeconds(15));

        Assert.That(connection.State, Is.EqualTo(HubConnectionState.Disconnected));
        Assert.That(async () => await connection.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room + "-late", RoomPermission.Public)),
            Throws.Exception);
        await using var other = await Server.ConnectAsync("observer");
        await HubAssert.RefusedAsync(() => other.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room + "-late"), ErrorCodes.NotFound);
    }

    [Test]
    public async Task T26_QueryStringToken_FullSession_NeitherTokenNorMessageTextInServerLogs()
    {
        var token = TestTokens.For("quinn");
        await using var connection = Track(Server.Connection(token));
        await connection.StartAsync();
        var room = NewRoomId();
        await connection.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await connection.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "secret-body-7f3a"));
        await connection.StopAsync();

        var logs = Server.Logs.AllText();
        Assert.That(logs, Does.Not.Contain(token).And.Not.Contain(token.Split('.')[2]), "no token or signature in logs (T4, T26)");
        Assert.That(logs, Does.Not.Contain("secret-body-7f3a"), "no message text in logs (T26)");
    }
}
