using System.Diagnostics;
using System.Net;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>T28: a node started before its Redis starts live and not ready, takes no hub connections, and becomes ready by itself.</summary>
public sealed class RedisAbsentAtStartTests : HubsFixture
{
    private static readonly TimeSpan RedisLate = TimeSpan.FromSeconds(10);

    private readonly List<HubsTestServer> _servers = [];
    private RedisServer? _redis;

    internal override IReadOnlyList<HubsTestServer> Servers => _servers;

    // After the fixture's own teardown, which closes the connections and reads these servers' logs; Redis last, so
    // that no server sees it go.
    [OneTimeTearDown]
    public async Task StopServersAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [Test]
    public async Task T28_RedisStartsTenSecondsAfterTheNode_LiveAtOnceNotReadyThenReadyAndServesARoomAcrossTwoNodes()
    {
        var redis = _redis = RedisServer.Reserve();
        var clock = Stopwatch.StartNew();
        await using var early = ServerProcess.Start("Development", new Dictionary<string, string>
        {
            ["Redis__Configuration"] = redis.Configuration,
            ["Auth__SigningKey"] = TestTokens.SigningKey,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
        });
        var earlyAddress = await early.ListeningAsync();
        var earlyHub = new Uri(earlyAddress, HubRoutes.Rooms);
        using var http = new HttpClient();

        // While Redis is absent: every probe is sampled until it appears, so that a late crash or flap shows too.
        var liveAnswers = new List<HttpStatusCode>();
        var readyAnswers = new List<HttpStatusCode>();
        await Await.UntilAsync(async () =>
        {
            liveAnswers.Add(await StatusAsync(http, new Uri(earlyAddress, HubRoutes.Live)));
            readyAnswers.Add(await StatusAsync(http, new Uri(earlyAddress, HubRoutes.Ready)));
            return clock.Elapsed >= RedisLate;
        }, "Redis is due", RedisLate + TimeSpan.FromSeconds(5));
        var upgrade = await RawHubSocket.UpgradeStatusAsync(new UriBuilder(earlyHub) { Query = $"access_token={TestTokens.For("early")}" }.Uri);
        var negotiate = await StatusAsync(http, new Uri(earlyHub + "/negotiate?negotiateVersion=1"), post: true);
        var exitedBeforeRedis = early.HasExited;

        await redis.RunAsync();
        var redisUp = clock.Elapsed;
        await Await.UntilAsync(async () => await StatusAsync(http, new Uri(earlyAddress, HubRoutes.Ready)) == HttpStatusCode.OK,
            "the early node is ready", TimeSpan.FromSeconds(5));
        var readyAfter = clock.Elapsed - redisUp;

        var late = await HubsTestServer.StartAsync(new Dictionary<string, string?> { ["Redis:Configuration"] = redis.Configuration });
        _servers.Add(late);
        var room = NewRoomId();
        var alice = Track(new HubConnectionBuilder()
            .WithUrl(earlyHub, o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For("alice"));
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
            })
            .Build());
        await alice.StartAsync();
        var bob = await ConnectToAsync(late, "bob", null, null);
        var aliceSaw = new EventRecorder<RoomMessage>(alice, nameof(IRoomClient.MessageReceived));
        var bobSaw = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        var aliceSawJoin = new EventRecorder<UserPresenceEvent>(alice, nameof(IRoomClient.UserJoined));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var joined = await aliceSawJoin.WaitAsync(e => e.UserId == "bob");
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "from the early node"));
        await bob.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "from the late node"));
        var toBob = await bobSaw.WaitAsync(m => m.Text == "from the early node");
        var toAlice = await aliceSaw.WaitAsync(m => m.Text == "from the late node");

        // The SignalR backplane subscribes its own channels once, when it first gets Redis; on the early node that
        // must not have been while Redis was absent. Each node has its own ack and client-result channels.
        var backplane = await redis.SubscribersAsync("*RoomHub:*");

        TestContext.Out.WriteLine($"ready {readyAfter.TotalMilliseconds:0} ms after Redis started; {liveAnswers.Count} probes while it was absent");
        Assert.Multiple(() =>
        {
            Assert.That(exitedBeforeRedis, Is.False, () => "the node stayed up without Redis:\n" + early.Output);
            Assert.That(liveAnswers, Is.Not.Empty.And.All.EqualTo(HttpStatusCode.OK), "live at once and throughout");
            Assert.That(readyAnswers, Is.Not.Empty.And.All.EqualTo(HttpStatusCode.ServiceUnavailable), "not ready while Redis is absent");
            Assert.That(upgrade, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "a WebSocket connect is refused before the upgrade");
            Assert.That(negotiate, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "a negotiate is refused");
            Assert.That(readyAfter, Is.LessThan(TimeSpan.FromSeconds(5)), "ready within seconds of Redis appearing");
            Assert.That(joined.RoomId, Is.EqualTo(room), "presence crosses from the late node to the early one");
            Assert.That(toBob.RoomId, Is.EqualTo(room), "a message crosses from the early node to the late one");
            Assert.That(toAlice.RoomId, Is.EqualTo(room), "and back");
            Assert.That(backplane.Where(c => c.Key.EndsWith(":all", StringComparison.Ordinal) || c.Key.EndsWith(":internal:groups", StringComparison.Ordinal)).Select(c => c.Value),
                Is.EqualTo(new[] { 2L, 2L }), "both backplanes listen to broadcasts and group management");
            Assert.That(backplane.Keys.Count(c => c.Contains(":internal:ack:", StringComparison.Ordinal)), Is.EqualTo(2), "and to their acks");
            Assert.That(backplane.Keys.Count(c => c.Contains(":internal:return:", StringComparison.Ordinal)), Is.EqualTo(2), "and to client results");
            Assert.That(early.HasExited, Is.False);
            Assert.That(early.ErrorLines.Where(l => l.StartsWith("crit:", StringComparison.Ordinal)), Is.Empty, () => early.Output);
            Assert.That(early.Output, Does.Not.Contain("Unhandled exception").And.Not.Contain("Hosting failed to start"));
        });
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, Uri url, bool post = false)
    {
        using var response = post ? await http.PostAsync(url, null) : await http.GetAsync(url);
        return response.StatusCode;
    }
}
