using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Hubs.Client;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// Graceful drain (issue 7, acceptance 2): a node stopped with SIGTERM goes unready at once, refuses new connections
/// with 503, moves its clients to other nodes over the drain period with a close that allows reconnecting, lets
/// running calls finish, hands presence off without a leave/join flap, and exits 0 within the period.
/// </summary>
public sealed class GracefulDrainTests
{
    private const int DrainSeconds = 5;
    private const int PresenceTimeoutSeconds = 6;
    private const int ClientCount = 200;
    private static readonly string[] Rooms = ["drain-a", "drain-b", "drain-c", "drain-d"];

    private RedisServer _redis = null!;

    [OneTimeSetUp]
    public async Task StartRedisAsync() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedisAsync()
    {
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SigtermWith200Connections_Unready503_ClientsMoveWithoutFlap_ExitZeroWithinThePeriod()
    {
        await using var nodeA = await StartNodeAsync(_redis);
        await using var nodeB = await StartNodeAsync(_redis);
        var a = nodeA.HubUrl;
        var b = nodeB.HubUrl;
        await using var clients = new TestClients();
        using var http = new HttpClient();

        var observer = await clients.StartAsync([b], "observer");
        var joined = new ConcurrentQueue<string>();
        var left = new ConcurrentQueue<string>();
        using var onJoined = observer.OnUserJoined(e => joined.Enqueue(e.UserId));
        using var onLeft = observer.OnUserLeft(e => left.Enqueue(e.UserId));
        foreach (var room in Rooms)
        {
            await observer.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
            await observer.JoinRoom(room);
        }

        var lostAt = new ConcurrentDictionary<string, TimeSpan>();
        var clock = Stopwatch.StartNew();
        var movers = new HubsClient[ClientCount];
        using (var starting = new SemaphoreSlim(16))
        {
            await Task.WhenAll(Enumerable.Range(0, ClientCount).Select(async i =>
            {
                await starting.WaitAsync();
                try
                {
                    var user = $"mover-{i}";
                    var client = await clients.StartAsync([a, b], user);
                    await client.JoinRoom(Rooms[i % Rooms.Length]);
                    client.StateChanged += (_, e) =>
                    {
                        if (e.Current == HubsConnectionState.Reconnecting)
                        {
                            lostAt.TryAdd(user, clock.Elapsed);
                        }
                    };
                    movers[i] = client;
                }
                finally
                {
                    starting.Release();
                }
            }));
        }

        // One more user, on a plain SignalR connection that does not reconnect: it really leaves.
        var leaver = new HubConnectionBuilder()
            .WithUrl(a, o => o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For("leaver")))
            .WithKeepAliveInterval(TimeSpan.FromSeconds(1))
            .Build();
        await leaver.StartAsync();
        await leaver.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), Rooms[0]);
        await Await.UntilAsync(() => joined.Distinct().Count() == ClientCount + 2, "the observer saw every user join", TimeSpan.FromSeconds(20));
        Assert.That(movers.Select(c => c.ConnectedUrl), Is.All.EqualTo(a), "everyone starts on node A");

        var terminated = clock.Elapsed;
        nodeA.Process.Terminate();
        await Await.UntilAsync(async () => (await http.GetAsync(new Uri(nodeA.BaseAddress, HubRoutes.Ready))).StatusCode == HttpStatusCode.ServiceUnavailable,
            "node A is unready", TimeSpan.FromSeconds(3));
        var unreadyAfter = clock.Elapsed - terminated;
        var attempt = await http.PostAsync(new Uri(a + "/negotiate?negotiateVersion=1"), null);

        await Await.UntilAsync(() => movers.All(c => c.State == HubsConnectionState.Connected && c.ConnectedUrl == b),
            "every client is connected to node B again", TimeSpan.FromSeconds(20));
        var exitCode = await nodeA.Process.ExitCodeAsync();
        var exitedAfter = clock.Elapsed - terminated;
        var leftBeforeExit = left.ToArray();

        // The handed-off entries are reaped once the presence timeout has passed; only then is "no UserLeft" final.
        await Await.UntilAsync(() => left.Contains("leaver"), "the user who did not come back is announced as left", TimeSpan.FromSeconds(PresenceTimeoutSeconds + 8));
        await Await.UntilAsync(() => nodeB.Process.Output.Contains("stopped heartbeating", StringComparison.Ordinal), "node B reaped node A");

        var closes = lostAt.Values.Order().ToArray();
        TestContext.Out.WriteLine($"unready after {unreadyAfter.TotalMilliseconds:0} ms; closes over {(closes[^1] - closes[0]).TotalSeconds:0.00} s; exit after {exitedAfter.TotalSeconds:0.00} s");
        Assert.Multiple(() =>
        {
            Assert.That(unreadyAfter, Is.LessThan(TimeSpan.FromSeconds(1)), "ready is 503 within 1 s");
            Assert.That(attempt.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "a new connection attempt gets 503");
            Assert.That(exitCode, Is.EqualTo(0));
            Assert.That(exitedAfter, Is.LessThan(TimeSpan.FromSeconds(DrainSeconds + 1)), "exits within the drain period");
            Assert.That(closes, Has.Length.EqualTo(ClientCount));
            Assert.That(closes[^1] - closes[0], Is.GreaterThan(TimeSpan.FromSeconds(DrainSeconds * 0.3)), "closes are spread, not all at once");
            Assert.That(left.Where(u => u.StartsWith("mover-", StringComparison.Ordinal)), Is.Empty, "nobody who came back was announced as left");
            Assert.That(joined.Count(u => u.StartsWith("mover-", StringComparison.Ordinal)), Is.EqualTo(ClientCount), "nor as joined again");
            Assert.That(leftBeforeExit, Does.Not.Contain("leaver"), "presence is handed off, not departed, at the drain");
            Assert.That(movers.Select(c => c.JoinedRooms.Count), Is.All.EqualTo(1));
        });
        await leaver.DisposeAsync();
    }

    [Test]
    public async Task SingleNodeWithoutRedis_Sigterm_CloseAllowsReconnect_ExitZero()
    {
        await using var node = await StartNodeAsync(redis: null);
        await using var socket = await RawHubSocket.ConnectAsync(node.HubUrl, TestTokens.For("solo"));
        socket.StartPinging(TimeSpan.FromSeconds(1));

        node.Process.Terminate();
        var said = await socket.ReceiveUntilClosedAsync(TimeSpan.FromSeconds(DrainSeconds + 2));

        Assert.Multiple(async () =>
        {
            Assert.That(said, Does.Contain("\"type\":7"));
            Assert.That(said, Does.Contain("\"allowReconnect\":true"));
            Assert.That(said, Does.Contain("unavailable: this node is shutting down, reconnect"));
            Assert.That(await node.Process.ExitCodeAsync(), Is.EqualTo(0));
        });
    }

    [Test]
    public async Task InvocationRunningWhenTheDrainReachesItsConnection_FinishesBeforeTheClose()
    {
        var gate = new SendGate();
        // A period far longer than the test needs: the call is released as soon as the drain has begun.
        await using var server = await HubsTestServer.StartAsync(new Dictionary<string, string?> { ["Hubs:Drain:PeriodSeconds"] = "20" }, services =>
        {
            services.AddSingleton(gate);
            services.Configure<HubOptions>(o => o.AddFilter<SendGate>());
        });
        using var http = new HttpClient();
        var room = "drain-inflight";
        await using var socket = await RawHubSocket.ConnectAsync(server.HubUrl, TestTokens.For("ivy"));
        await socket.InvokeAsync(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await socket.ReceiveCompletionAsync();
        await socket.InvokeAsync(nameof(IRoomHub.JoinRoom), room);
        await socket.ReceiveCompletionAsync();
        await socket.InvokeAsync(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "in flight"));
        await gate.Entered.Within();

        var stopping = server.StopAsync();
        await Await.UntilAsync(async () => (await http.GetAsync(new Uri(server.BaseAddress, HubRoutes.Ready))).StatusCode == HttpStatusCode.ServiceUnavailable,
            "the drain began");
        var directConnect = await RawHubSocket.UpgradeStatusAsync(new UriBuilder(server.HubUrl) { Query = $"access_token={TestTokens.For("late")}" }.Uri);
        gate.Release();
        var said = await socket.ReceiveUntilClosedAsync();
        await stopping.Within();

        var completion = said.IndexOf("\"type\":3", StringComparison.Ordinal);
        var close = said.IndexOf("\"type\":7", StringComparison.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(completion, Is.GreaterThanOrEqualTo(0), () => "the running call was answered; server log:\n" + server.Logs.AllText());
            Assert.That(said, Does.Contain("\"sequence\":1"));
            Assert.That(said, Does.Not.Contain("\"error\":\"unavailable: the connection closed"));
            Assert.That(close, Is.GreaterThan(completion), "and only then was the connection closed");
            Assert.That(said, Does.Contain("\"allowReconnect\":true"));
            Assert.That(directConnect, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "a WebSocket connect without negotiate gets 503 too");
        });
    }

    private static async Task<Node> StartNodeAsync(RedisServer? redis)
    {
        var variables = new Dictionary<string, string>
        {
            ["Auth__SigningKey"] = TestTokens.SigningKey,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
            ["Hubs__Drain__PeriodSeconds"] = DrainSeconds.ToString(),
            ["Hubs__Presence__TimeoutSeconds"] = PresenceTimeoutSeconds.ToString(),
            ["Hubs__Limits__ConnectsPerMinutePerAddress"] = "100000",
        };
        if (redis is not null)
        {
            variables["Redis__Configuration"] = redis.Configuration;
        }

        var process = ServerProcess.Start("Development", variables);
        return new Node(process, await process.ListeningAsync());
    }

    private sealed record Node(ServerProcess Process, Uri BaseAddress) : IAsyncDisposable
    {
        public Uri HubUrl => new(BaseAddress, HubRoutes.Rooms);

        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    /// <summary>Holds the next SendMessage inside the hub until released, so that it is running when the drain arrives.</summary>
    private sealed class SendGate : IHubFilter
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public void Release() => _released.TrySetResult();

        public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext context, Func<HubInvocationContext, ValueTask<object?>> next)
        {
            if (context.HubMethodName == nameof(IRoomHub.SendMessage))
            {
                _entered.TrySetResult();
                await _released.Task;
            }

            return await next(context);
        }
    }
}
