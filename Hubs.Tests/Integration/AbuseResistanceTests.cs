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
    public async Task T14_WebSocketConnectBurstWithoutNegotiate_ExcessGets429BeforeTokenWork()
    {
        // Straight to the WebSocket upgrade, as a client with skipNegotiation connects; no token, so within the limit
        // each is a 401 and past it 429 comes before authentication.
        var source = IPAddress.Parse("127.0.0.5");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            statuses.Add(await UpgradeStatusAsync(source, Server.HubUrl));
        }

        Assert.That(statuses.Take(5), Has.All.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(statuses.Skip(5), Has.All.EqualTo(HttpStatusCode.TooManyRequests));
    }

    [Test]
    public async Task T14_NegotiatedTransportStart_IsNotChargedASecondTime()
    {
        // Five negotiates spend the address's five attempts. The WebSocket start that follows a negotiate carries its
        // connection token (id) and is the same attempt, so it is not refused; a start without one is a new attempt.
        var source = IPAddress.Parse("127.0.0.6");
        using var client = Client(source);
        for (var i = 0; i < 5; i++)
        {
            var response = await client.PostAsync(new Uri(Server.BaseAddress, $"{HubRoutes.Rooms}/negotiate?negotiateVersion=1"), null);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        var negotiated = await UpgradeStatusAsync(source, new UriBuilder(Server.HubUrl) { Query = "id=some-connection-token" }.Uri);
        var fresh = await UpgradeStatusAsync(source, Server.HubUrl);

        Assert.That(negotiated, Is.EqualTo(HttpStatusCode.Unauthorized), "the negotiated start reaches authentication");
        Assert.That(fresh, Is.EqualTo(HttpStatusCode.TooManyRequests), "a start without a negotiate is charged");
    }

    [Test]
    public async Task T23_WebSocketConnectWithoutNegotiate_ForeignOriginRefused403()
    {
        var foreign = await UpgradeStatusAsync(IPAddress.Parse("127.0.2.2"), Server.HubUrl, "https://evil.example");
        var allowed = await UpgradeStatusAsync(IPAddress.Parse("127.0.2.2"), Server.HubUrl, "https://app.example");

        Assert.That(foreign, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(allowed, Is.EqualTo(HttpStatusCode.Unauthorized), "an allowed origin goes on to authentication");
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

    /// <summary>The status a WebSocket upgrade to <paramref name="url"/> from <paramref name="source"/> gets, without a token.</summary>
    private static async Task<HttpStatusCode> UpgradeStatusAsync(IPAddress source, Uri url, string? origin = null)
    {
        using var invoker = new HttpMessageInvoker(Handler(source));
        return await RawHubSocket.UpgradeStatusAsync(url, invoker, origin);
    }

    /// <summary>An HTTP client whose connections come from <paramref name="source"/> (any 127.0.0.0/8 address works on loopback).</summary>
    private static HttpClient Client(IPAddress source) => new(Handler(source));

    private static SocketsHttpHandler Handler(IPAddress source) => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    };
}

/// <summary>T13, T15, T19 on one node with small limits.</summary>
public sealed class InvocationLimitTests : ServerFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Hubs:Limits:InvocationsPerSecondPerConnection"] = "5",
        ["Hubs:Limits:MessagesPerSecondPerUserPerRoom"] = "2",
        ["Hubs:Limits:MaxRoomsPerConnection"] = "2",
        ["Hubs:Presence:TimeoutSeconds"] = "3",
    };

    [Test]
    public async Task T13_FloodingConnection_RateLimitedThenDisconnected_OtherUsersMessagesKeepArriving()
    {
        var room = NewRoomId();
        var flooder = await ConnectAsync("flo");
        var steady = await ConnectAsync("sue");
        var reader = await ConnectAsync("rex");
        var received = new EventRecorder<RoomMessage>(reader, nameof(IRoomClient.MessageReceived));
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        flooder.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        await reader.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var member in new[] { flooder, steady, reader })
        {
            await member.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        var outcomes = new List<string>();
        var flood = Task.Run(async () =>
        {
            for (var i = 0; i < 200 && flooder.State == HubConnectionState.Connected; i++)
            {
                try
                {
                    await flooder.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"spam {i}"));
                    outcomes.Add("ok");
                }
                catch (Microsoft.AspNetCore.SignalR.HubException error)
                {
                    outcomes.Add(error.Message.Split(':')[0]);
                }
                catch (Exception error) when (error is not Microsoft.AspNetCore.SignalR.HubException)
                {
                    break;
                }
            }
        });
        for (var i = 0; i < 3; i++)
        {
            await steady.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"steady {i}"));
        }

        await closed.Task.Within();
        await flood.Within();
        await received.WaitAsync(_ => received.Items.Count(m => m.SenderId == "sue") == 3);

        Assert.Multiple(() =>
        {
            Assert.That(outcomes.Count(o => o == "ok"), Is.EqualTo(4), "the message burst is twice the rate");
            Assert.That(outcomes.Skip(4), Has.All.EqualTo(ErrorCodes.RateLimited));
            Assert.That(outcomes.Count, Is.LessThan(200), "the flooder was disconnected rather than served forever");
            Assert.That(received.Items.Where(m => m.SenderId == "sue").Select(m => m.Text), Is.EqualTo(new[] { "steady 0", "steady 1", "steady 2" }));
        });
    }

    [Test]
    public async Task T13_UnknownMethodsAndUnboundArguments_SpendTheSameBucket_ThenFloodDisconnected()
    {
        var caller = await ConnectAsync("prober");
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        caller.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };

        // SignalR answers unknown methods and unbindable arguments itself, without the hub filter ever running.
        var outcomes = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 300 && caller.State == HubConnectionState.Connected; i++)
        {
            try
            {
                switch (i % 3)
                {
                    case 0:
                        await caller.InvokeAsync<object>("NoSuchMethod");
                        break;
                    case 1:
                        await caller.InvokeAsync<object>(nameof(IRoomHub.JoinRoom), 42, "one too many");
                        break;
                    default:
                        await caller.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
                        break;
                }

                outcomes.Add("ok");
            }
            catch (Microsoft.AspNetCore.SignalR.HubException error)
            {
                outcomes.Add(error.Message.Split(':')[0]);
            }
            catch (Exception error) when (error is not Microsoft.AspNetCore.SignalR.HubException)
            {
                break;
            }
        }

        var elapsed = clock.Elapsed;
        await closed.Task.Within();

        // Burst 10 and 5 per second, all call kinds together: only that many can have been answered other than rate_limited.
        var admitted = outcomes.Count(o => o != ErrorCodes.RateLimited);
        Assert.Multiple(() =>
        {
            Assert.That(outcomes, Does.Contain(ErrorCodes.InvalidArgument).And.Contain("ok").And.Contain(ErrorCodes.RateLimited));
            Assert.That(admitted, Is.LessThanOrEqualTo(10 + (int)Math.Ceiling(5 * elapsed.TotalSeconds) + 1), "one bucket for every kind of call");
            Assert.That(outcomes.Count, Is.LessThan(300), "the prober was disconnected rather than answered forever");
        });
    }

    [Test]
    public async Task T13_FloodDisconnect_TheFlooderStillGetsSignalRsCloseMessage()
    {
        // The close message is written after SignalR aborts the connection; the outgoing guard must let it through.
        await using var flooder = await RawHubSocket.ConnectAsync(Server.HubUrl, TestTokens.For("raw-flooder"));
        for (var i = 0; i < 40; i++)
        {
            await flooder.InvokeAsync(nameof(IRoomHub.ListRooms));
        }

        var frames = await flooder.ReceiveUntilClosedAsync();

        Assert.Multiple(() =>
        {
            Assert.That(frames, Does.Contain(ErrorCodes.RateLimited));
            Assert.That(frames.Split(RawHubSocket.RecordSeparator), Has.Some.StartsWith("{\"type\":7"), "a close message before the socket closed");
        });
    }

    [Test]
    public async Task T15_RoomsPerConnection_OnePastTheCapRefusedWithRateLimited()
    {
        var connection = await ConnectAsync("roamer");
        var rooms = new[] { NewRoomId(), NewRoomId(), NewRoomId() };
        foreach (var room in rooms)
        {
            await connection.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        }

        await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), rooms[0]);
        await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), rooms[1]);
        var refusal = await HubAssert.RefusedAsync(() => connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), rooms[2]), ErrorCodes.RateLimited);

        Assert.That(refusal, Does.Contain("too many rooms"));
    }

    [Test]
    public async Task T19_SilentRawSocket_AfterJoining_DroppedAndLeavesPresenceWithinTimeout()
    {
        var room = NewRoomId();
        using var metrics = new MetricsRecorder(Server);
        var observer = await ConnectAsync("observer2");
        var left = new EventRecorder<UserPresenceEvent>(observer, nameof(IRoomClient.UserLeft));
        await observer.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await observer.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        // Not a SignalR client at all: it joins, then neither sends nor reads anything, and keeps its socket open.
        await using var silent = await RawHubSocket.ConnectAsync(Server.HubUrl, TestTokens.For("mute"));
        await silent.InvokeAsync(nameof(IRoomHub.JoinRoom), room);
        Assert.That(await silent.ReceiveCompletionAsync(), Does.Contain("\"result\""));

        var gone = await left.WaitAsync(e => e.UserId == "mute", TimeSpan.FromSeconds(15));
        await silent.ReceiveUntilClosedAsync();
        Assert.Multiple(() =>
        {
            Assert.That(gone.RoomId, Is.EqualTo(room));
            Assert.That(metrics.Sum("hubs.connections.silent_drops"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task T19_SilentPeer_DroppedAndLeavesPresenceWithinTimeout()
    {
        var room = NewRoomId();
        var observer = await ConnectAsync("observer");
        var left = new EventRecorder<UserPresenceEvent>(observer, nameof(IRoomClient.UserLeft));
        await observer.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await observer.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        // A client whose keep-alive never fires: after joining it sends nothing at all, as a hung peer would.
        var silent = Track(new HubConnectionBuilder()
            .WithUrl(Server.HubUrl, o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For("silent"));
                o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
            })
            .WithKeepAliveInterval(TimeSpan.FromHours(1))
            .WithServerTimeout(TimeSpan.FromHours(2))
            .Build());
        await silent.StartAsync();
        await silent.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        var gone = await left.WaitAsync(e => e.UserId == "silent", TimeSpan.FromSeconds(15));
        var members = await observer.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);

        Assert.That(gone.RoomId, Is.EqualTo(room));
        Assert.That(members.Select(m => m.UserId), Is.EqualTo(new[] { "observer" }));
        await Await.UntilAsync(() => silent.State == HubConnectionState.Disconnected, "the server closed the silent connection");
    }
}
