using Hubs.Client;
using Hubs.Contracts;
using Hubs.Server.Rooms;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Integration;

/// <summary>The typed client against the real server: typed calls, errors, reconnect with rejoin and recovery.</summary>
public sealed class HubsClientTests : ServerFixture
{
    private readonly List<HubsClient> _clients = [];
    private CapturedLogs _clientLogs = new();

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ConnectionAborter>();
        services.Configure<HubOptions>(options => options.AddFilter<ConnectionAborter>());
    }

    [SetUp]
    public void NewClientLogs() => _clientLogs = new CapturedLogs();

    [TearDown]
    public async Task DisposeClients()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        _clients.Clear();
    }

    [Test]
    public async Task TypedCalls_CreateJoinSendReceive_EventsAndResultsTyped()
    {
        var room = NewRoomId();
        var alice = await StartClientAsync("alice");
        var bob = await StartClientAsync("bob");
        var bobMessages = new EventRecorder<RoomMessage>();
        var aliceJoins = new EventRecorder<UserPresenceEvent>();
        using var messages = bob.OnMessageReceived(bobMessages.Add);
        using var joins = alice.OnUserJoined(aliceJoins.Add);

        var created = await alice.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public, "Typed"));
        await alice.JoinRoom(room);
        await bob.JoinRoom(room);
        var sent = await alice.SendMessage(new SendMessageRequest(room, "typed hello"));

        var received = await bobMessages.WaitAsync();
        await aliceJoins.WaitAsync(e => e.UserId == "bob");
        Assert.Multiple(() =>
        {
            Assert.That(created.DisplayName, Is.EqualTo("Typed"));
            Assert.That(sent.Sequence, Is.EqualTo(1));
            Assert.That((received.SenderId, received.Text), Is.EqualTo(("alice", "typed hello")));
            Assert.That(bob.JoinedRooms, Is.EqualTo(new[] { room }));
        });
    }

    [Test]
    public async Task Refusal_SurfacesAsHubsExceptionWithCodeAndRef()
    {
        var client = await StartClientAsync("alice");

        var error = Assert.ThrowsAsync<HubsException>(() => client.GetRoom("no-such-room"))!;
        var invalid = Assert.ThrowsAsync<HubsException>(() => client.GetHistory(new GetHistoryRequest("x", Limit: 500)))!;

        Assert.Multiple(() =>
        {
            Assert.That(error.Code, Is.EqualTo(ErrorCodes.NotFound));
            Assert.That(error.RefId, Does.Match("^[0-9a-f]{12}$"));
            Assert.That(invalid.Code, Is.EqualTo(ErrorCodes.InvalidArgument));
        });
    }

    [Test]
    public async Task Registration_Disposed_HandlerNoLongerCalled()
    {
        var room = NewRoomId();
        var client = await StartClientAsync("alice");
        var first = new EventRecorder<RoomMessage>();
        var second = new EventRecorder<RoomMessage>();
        var registration = client.OnMessageReceived(first.Add);
        using var stays = client.OnMessageReceived(second.Add);
        await client.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await client.JoinRoom(room);
        await client.SendMessage(new SendMessageRequest(room, "one"));
        await first.WaitAsync();

        registration.Dispose();
        await client.SendMessage(new SendMessageRequest(room, "two"));
        await second.WaitAsync(m => m.Sequence == 2);

        Assert.That(first.Items.Select(m => m.Sequence), Is.EqualTo(new[] { 1L }));
    }

    [Test]
    public async Task ConnectionCut_WhileAnotherClientKeepsSending_ReconnectsRejoinsAndDeliversEveryMessageOnceInOrder()
    {
        var room = NewRoomId();
        var tokens = new GatedTokens("rita");
        var receiver = await StartClientAsync("rita", tokens.GetAsync);
        var sender = await StartClientAsync("sam");
        var received = new EventRecorder<RoomMessage>();
        var states = new EventRecorder<HubsConnectionState>();
        using var onMessage = receiver.OnMessageReceived(received.Add);
        receiver.StateChanged += (_, e) => states.Add(e.Current);
        await sender.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await sender.JoinRoom(room);
        await receiver.JoinRoom(room);

        using var stopSending = new CancellationTokenSource();
        var sentWhileAway = 0;
        var sending = Task.Run(async () =>
        {
            long last = 0;
            while (!stopSending.IsCancellationRequested)
            {
                last = (await sender.SendMessage(new SendMessageRequest(room, $"m{last + 1}"))).Sequence;
                if (receiver.State == HubsConnectionState.Reconnecting)
                {
                    Interlocked.Increment(ref sentWhileAway);
                }
            }

            return last;
        });

        await received.WaitAsync(m => m.Sequence >= 10);
        Server.Services.GetRequiredService<ConnectionAborter>().AbortUser("rita");
        await states.WaitAsync(s => s == HubsConnectionState.Reconnecting);
        await Await.UntilAsync(() => Volatile.Read(ref sentWhileAway) >= 20, "messages were sent while the receiver was away");
        tokens.Open();
        await states.WaitAsync(s => s == HubsConnectionState.Connected, TimeSpan.FromSeconds(15));
        var afterReconnect = received.Items.Count;
        await received.WaitAsync(_ => received.Items.Count >= afterReconnect + 10 && received.Items.Count > 40);
        await stopSending.CancelAsync();
        var lastSent = await sending.Within();
        await received.WaitAsync(m => m.Sequence == lastSent);

        Assert.Multiple(() =>
        {
            Assert.That(received.Items.Select(m => m.Sequence), Is.EqualTo(Enumerable.Range(1, (int)lastSent).Select(i => (long)i)),
                "every message 1..N exactly once, in order");
            Assert.That(tokens.Calls, Is.GreaterThanOrEqualTo(2), "the token provider is asked again on reconnect");
            Assert.That(receiver.JoinedRooms, Is.EqualTo(new[] { room }));
            Assert.That(receiver.State, Is.EqualTo(HubsConnectionState.Connected), () => "client log:\n" + _clientLogs.AllText());
        });
    }

    [Test]
    public async Task LiveGap_MessageNeverDelivered_FetchedFromHistoryBeforeTheNextOne()
    {
        var room = NewRoomId();
        var client = await StartClientAsync("gale");
        var received = new EventRecorder<RoomMessage>();
        using var onMessage = client.OnMessageReceived(received.Add);
        await client.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await client.JoinRoom(room);
        await client.SendMessage(new SendMessageRequest(room, "one"));

        // Stored but never broadcast: to the client this is a lost delivery.
        var log = Server.Services.GetRequiredService<IRoomMessageLog>();
        await log.AppendAsync(room, new MessageDraft("gale", "gale", "lost", DateTimeOffset.UtcNow, null), admitConnectionId: null, CancellationToken.None);
        await client.SendMessage(new SendMessageRequest(room, "three"));

        await received.WaitAsync(m => m.Sequence == 3);
        Assert.That(received.Items.Select(m => (m.Sequence, m.Text)), Is.EqualTo(new[] { (1L, "one"), (2L, "lost"), (3L, "three") }));
    }

    [Test]
    public async Task Reconnect_AccessRevokedWhileAway_RemovedFromRoomRaisedAndNothingMoreDelivered()
    {
        var room = NewRoomId();
        var tokens = new GatedTokens("gus");
        var owner = await StartClientAsync("olga");
        var guest = await StartClientAsync("gus", tokens.GetAsync);
        var removals = new EventRecorder<RemovedFromRoomEvent>();
        var received = new EventRecorder<RoomMessage>();
        var states = new EventRecorder<HubsConnectionState>();
        using var onRemoved = guest.OnRemovedFromRoom(removals.Add);
        using var onMessage = guest.OnMessageReceived(received.Add);
        guest.StateChanged += (_, e) => states.Add(e.Current);
        await owner.CreateRoom(new CreateRoomRequest(room, RoomPermission.Private));
        await owner.InviteUser(room, "gus");
        await guest.JoinRoom(room);

        Server.Services.GetRequiredService<ConnectionAborter>().AbortUser("gus");
        await states.WaitAsync(s => s == HubsConnectionState.Reconnecting);
        await owner.RevokeInvite(room, "gus");
        await owner.JoinRoom(room);
        await owner.SendMessage(new SendMessageRequest(room, "after revocation"));
        tokens.Open();

        var removal = await removals.WaitAsync(timeout: TimeSpan.FromSeconds(15));
        await states.WaitAsync(s => s == HubsConnectionState.Connected);
        Assert.Multiple(() =>
        {
            Assert.That(removal, Is.EqualTo(new RemovedFromRoomEvent(room, RemovalReasons.Revoked)));
            Assert.That(guest.JoinedRooms, Is.Empty);
            Assert.That(received.Items, Is.Empty);
        });
    }

    [Test]
    public async Task CallWhileNotConnected_FailsAtOnceWithUnavailable()
    {
        var client = NewClient("nora", _ => ValueTask.FromResult<string?>(TestTokens.For("nora")));

        var error = Assert.ThrowsAsync<HubsException>(() => client.ListRooms())!;

        Assert.That(error.Code, Is.EqualTo(ErrorCodes.Unavailable));
        Assert.That(client.State, Is.EqualTo(HubsConnectionState.Disconnected));
    }

    private async Task<HubsClient> StartClientAsync(string userId, Func<CancellationToken, ValueTask<string?>>? tokens = null)
    {
        var client = NewClient(userId, tokens ?? (_ => ValueTask.FromResult<string?>(TestTokens.For(userId))));
        await client.StartAsync();
        return client;
    }

    private HubsClient NewClient(string userId, Func<CancellationToken, ValueTask<string?>> tokens)
    {
        var client = new HubsClient(new HubsClientOptions
        {
            Url = Server.HubUrl,
            AccessTokenProvider = tokens,
            Transports = HttpTransportType.WebSockets,
            SkipNegotiation = true,
            InitialReconnectDelay = TimeSpan.FromMilliseconds(50),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
            LoggerFactory = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(_clientLogs)),
        });
        _clients.Add(client);
        return client;
    }
}
