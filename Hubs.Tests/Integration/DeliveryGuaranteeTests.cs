using Hubs.Client;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration;

/// <summary>
/// The delivery guarantee through the typed client on one node: recovery beyond the history window is reported,
/// access lost while away is enforced at the rejoin, tokens are replaced before they expire, and a send whose
/// acknowledgement was lost is retried without a duplicate.
/// </summary>
public sealed class DeliveryGuaranteeTests : ServerFixture
{
    private const int HistoryWindow = 10;

    private TestClients _clients = null!;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Hubs:History:MaxMessagesPerRoom"] = HistoryWindow.ToString(),
    };

    private Uri[] Urls => [Server.HubUrl];

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ConnectionAborter>();
        services.Configure<HubOptions>(options => options.AddFilter<ConnectionAborter>());
    }

    [SetUp]
    public void NewClients() => _clients = new TestClients();

    [TearDown]
    public async Task DisposeClients() => await _clients.DisposeAsync();

    [Test]
    public async Task GapLargerThanTheHistoryWindow_RecoveryIncompleteRaisedWithTheNumbers_ThenTheRestInOrder()
    {
        var room = NewRoomId();
        var tokens = new GatedTokens("rhea");
        var sender = await _clients.StartAsync(Urls, "sid");
        var receiver = await _clients.StartAsync(Urls, "rhea", tokens.GetAsync);
        var received = new EventRecorder<RoomMessage>();
        var incomplete = new EventRecorder<RecoveryIncompleteEvent>();
        var order = new List<string>();
        using var onMessage = receiver.OnMessageReceived(m =>
        {
            lock (order)
            {
                order.Add($"m{m.Sequence}");
            }

            received.Add(m);
        });
        using var onIncomplete = receiver.OnRecoveryIncomplete(e =>
        {
            lock (order)
            {
                order.Add("gap");
            }

            incomplete.Add(e);
        });
        await sender.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await sender.JoinRoom(room);
        await receiver.JoinRoom(room);
        for (var i = 1; i <= 3; i++)
        {
            await sender.SendMessage(new SendMessageRequest(room, $"before {i}"));
        }

        await received.WaitAsync(m => m.Sequence == 3);
        await CutAsync(receiver, "rhea");
        for (var i = 4; i <= 28; i++)
        {
            await sender.SendMessage(new SendMessageRequest(room, $"away {i}"));
        }

        tokens.Open();
        var gap = await incomplete.WaitAsync(timeout: TimeSpan.FromSeconds(15));
        await received.WaitAsync(m => m.Sequence == 28);

        Assert.Multiple(() =>
        {
            // The server keeps 19..28: 4..18 are gone for this client, and it is told so once.
            Assert.That(gap, Is.EqualTo(new RecoveryIncompleteEvent(room, 4, 19)));
            Assert.That(gap.MissedCount, Is.EqualTo(15));
            Assert.That(incomplete.Items, Has.Count.EqualTo(1));
            Assert.That(received.Items.Select(m => m.Sequence), Is.EqualTo(new long[] { 1, 2, 3 }.Concat(Enumerable.Range(19, 10).Select(i => (long)i))));
            Assert.That(order.IndexOf("gap"), Is.EqualTo(3), "the gap is reported before the first message after it");
        });
    }

    [Test]
    public async Task Reconnect_RoleRemovedFromTheToken_RemovedAsRevokedAndNothingSentAfterwardsDelivered()
    {
        var room = NewRoomId();
        var tokens = new GatedTokens(call => TestTokens.For("ruth", roles: call == 1 ? ["staff"] : []));
        var owner = await _clients.StartAsync(Urls, "olaf");
        var member = await _clients.StartAsync(Urls, "ruth", tokens.GetAsync);
        var removals = new EventRecorder<RemovedFromRoomEvent>();
        var received = new EventRecorder<RoomMessage>();
        var states = new EventRecorder<HubsConnectionState>();
        using var onRemoved = member.OnRemovedFromRoom(removals.Add);
        using var onMessage = member.OnMessageReceived(received.Add);
        member.StateChanged += (_, e) => states.Add(e.Current);
        await owner.CreateRoom(new CreateRoomRequest(room, RoomPermission.Restricted, AllowedRoles: ["staff"]));
        await owner.JoinRoom(room);
        await member.JoinRoom(room);
        await owner.SendMessage(new SendMessageRequest(room, "while staff"));
        await received.WaitAsync(m => m.Sequence == 1);

        await CutAsync(member, "ruth");
        await owner.SendMessage(new SendMessageRequest(room, "after the role was dropped"));
        tokens.Open();

        var removal = await removals.WaitAsync(timeout: TimeSpan.FromSeconds(15));
        await states.WaitAsync(s => s == HubsConnectionState.Connected);
        await owner.SendMessage(new SendMessageRequest(room, "later still"));
        var roomMembers = await owner.GetMembers(room);
        Assert.Multiple(() =>
        {
            Assert.That(removal, Is.EqualTo(new RemovedFromRoomEvent(room, RemovalReasons.Revoked)));
            Assert.That(member.JoinedRooms, Is.Empty);
            Assert.That(received.Items.Select(m => m.Sequence), Is.EqualTo(new[] { 1L }));
            Assert.That(roomMembers.Select(m => m.UserId), Is.EqualTo(new[] { "olaf" }));
        });
    }

    [Test]
    public async Task AcknowledgementLost_SendRetriedWithTheSameClientMessageId_StoredOnceAndOriginalSequenceReturned()
    {
        var room = NewRoomId();
        var sender = await _clients.StartAsync(Urls, "sven");
        var watcher = await _clients.StartAsync(Urls, "wendy");
        var seen = new EventRecorder<RoomMessage>();
        using var onMessage = watcher.OnMessageReceived(seen.Add);
        await sender.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await sender.JoinRoom(room);
        await watcher.JoinRoom(room);
        await sender.SendMessage(new SendMessageRequest(room, "first"));
        var aborter = Server.Services.GetRequiredService<ConnectionAborter>();

        aborter.LoseNextAcknowledgement("sven");
        var result = await sender.SendMessage(new SendMessageRequest(room, "second", "retry-me-1")).Within(TimeSpan.FromSeconds(15));
        await sender.SendMessage(new SendMessageRequest(room, "third"));
        await seen.WaitAsync(m => m.Text == "third");
        var history = await watcher.GetHistory(new GetHistoryRequest(room));

        Assert.Multiple(() =>
        {
            Assert.That(aborter.AcknowledgementsLost, Is.EqualTo(1), "the first attempt's result never reached the client");
            Assert.That(result.Sequence, Is.EqualTo(2), "the retry returns the sequence stored by the first attempt");
            Assert.That(history.Select(m => (m.Sequence, m.Text)), Is.EqualTo(new[] { (1L, "first"), (2L, "second"), (3L, "third") }));
            Assert.That(seen.Items.Select(m => m.Sequence), Is.EqualTo(new long[] { 1, 2, 3 }));
        });
    }

    [Test]
    public async Task SendWithoutClientMessageId_AcknowledgementLost_TheClientAssignsOneAndStillStoresOnce()
    {
        var room = NewRoomId();
        var sender = await _clients.StartAsync(Urls, "sage");
        await sender.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await sender.JoinRoom(room);

        Server.Services.GetRequiredService<ConnectionAborter>().LoseNextAcknowledgement("sage");
        var result = await sender.SendMessage(new SendMessageRequest(room, "no id given")).Within(TimeSpan.FromSeconds(15));
        var history = await sender.GetHistory(new GetHistoryRequest(room));

        Assert.Multiple(() =>
        {
            Assert.That(result.Sequence, Is.EqualTo(1));
            Assert.That(history, Has.Count.EqualTo(1));
            Assert.That(history[0].ClientMessageId, Does.Match("^[0-9a-f]{32}$"));
        });
    }

    [Test]
    public async Task SendRetryTimeoutPassesWhileAway_SendFailsWithUnavailable()
    {
        var room = NewRoomId();
        var tokens = new GatedTokens("stan");
        var client = _clients.New(Urls, tokens.GetAsync, sendRetryTimeout: TimeSpan.FromMilliseconds(800));
        var states = new EventRecorder<HubsConnectionState>();
        await client.StartAsync();
        client.StateChanged += (_, e) => states.Add(e.Current);
        await client.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await client.JoinRoom(room);
        Server.Services.GetRequiredService<ConnectionAborter>().AbortUser("stan");
        await states.WaitAsync(s => s == HubsConnectionState.Reconnecting);

        var error = Assert.ThrowsAsync<HubsException>(() => client.SendMessage(new SendMessageRequest(room, "never sent")))!;
        tokens.Open();
        await states.WaitAsync(s => s == HubsConnectionState.Connected, TimeSpan.FromSeconds(15));
        var history = await client.GetHistory(new GetHistoryRequest(room));

        Assert.Multiple(() =>
        {
            Assert.That(error.Code, Is.EqualTo(ErrorCodes.Unavailable));
            Assert.That(history, Is.Empty);
        });
    }

    /// <summary>
    /// Acceptance 6. Long by nature (the issue asks for a minute of traffic over tokens that live 10 s), bounded at 90 s
    /// like the chaos tests.
    /// </summary>
    [Test]
    [CancelAfter(90_000)]
    public async Task TokensLivingTenSeconds_ReplacedBeforeExpiry_StaysConnectedInItsRoomForAMinuteAndLosesNothing()
    {
        var room = NewRoomId();
        var minted = 0;
        var member = _clients.New(Urls, _ =>
        {
            Interlocked.Increment(ref minted);
            return ValueTask.FromResult<string?>(TestTokens.For("tina", lifetime: TimeSpan.FromSeconds(10)));
        });
        var sender = await _clients.StartAsync(Urls, "sol");
        var observer = await _clients.StartAsync(Urls, "obi");
        var received = new EventRecorder<RoomMessage>();
        var presence = new EventRecorder<string>();
        var states = new EventRecorder<HubsConnectionState>();
        using var onMessage = member.OnMessageReceived(received.Add);
        using var onJoined = observer.OnUserJoined(e => presence.Add($"joined {e.UserId}"));
        using var onLeft = observer.OnUserLeft(e => presence.Add($"left {e.UserId}"));
        await sender.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await sender.JoinRoom(room);
        await observer.JoinRoom(room);
        await member.StartAsync();
        member.StateChanged += (_, e) => states.Add(e.Current);
        await member.JoinRoom(room);
        await presence.WaitAsync(p => p == "joined tina");

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        long last = 0;
        var ownSends = 0;
        while (DateTime.UtcNow < until)
        {
            last = (await sender.SendMessage(new SendMessageRequest(room, $"tick {last + 1}"))).Sequence;
            if (last % 8 == 0)
            {
                // The member's own calls keep working across replacements too.
                last = (await member.SendMessage(new SendMessageRequest(room, $"own {last + 1}"))).Sequence;
                ownSends++;
            }

            await Task.Delay(200);
        }

        await received.WaitAsync(m => m.Sequence == last);
        Assert.Multiple(() =>
        {
            Assert.That(states.Items, Is.Empty, () => "the member never lost its connection; client log:\n" + _clients.Logs.AllText());
            Assert.That(member.State, Is.EqualTo(HubsConnectionState.Connected));
            Assert.That(member.JoinedRooms, Is.EqualTo(new[] { room }));
            Assert.That(Volatile.Read(ref minted), Is.GreaterThanOrEqualTo(7), "a fresh token roughly every 6.7 s");
            Assert.That(received.Items.Select(m => m.Sequence), Is.EqualTo(Enumerable.Range(1, (int)last).Select(i => (long)i)));
            Assert.That(ownSends, Is.GreaterThan(20));
            Assert.That(presence.Items.Where(p => p.EndsWith(" tina")), Is.EqualTo(new[] { "joined tina" }), "no leave/join flap while connections are replaced");
        });
    }

    [Test]
    public async Task TokenExpiry_WithReplacementTurnedOff_TheServerClosesTheConnection()
    {
        // The control for the test above: without replacement the server does close at expiry.
        var client = _clients.New(Urls, _ => ValueTask.FromResult<string?>(TestTokens.For("tom", lifetime: TimeSpan.FromSeconds(3))), tokenRefreshLead: TimeSpan.Zero);
        var states = new EventRecorder<HubsConnectionState>();
        await client.StartAsync();
        client.StateChanged += (_, e) => states.Add(e.Current);

        Assert.That(await states.WaitAsync(timeout: TimeSpan.FromSeconds(15)), Is.EqualTo(HubsConnectionState.Reconnecting));
    }

    [Test]
    public async Task ProviderReturnsTheSameTokenAgain_NoStormOfReplacements_ExpiryLeftToTheReconnect()
    {
        var token = TestTokens.For("cora", lifetime: TimeSpan.FromSeconds(4));
        var calls = 0;
        var client = _clients.New(Urls, _ =>
        {
            Interlocked.Increment(ref calls);
            return ValueTask.FromResult<string?>(token);
        });
        var callsWhenClosed = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await client.StartAsync();
        client.StateChanged += (_, e) =>
        {
            if (e.Current == HubsConnectionState.Reconnecting)
            {
                callsWhenClosed.TrySetResult(Volatile.Read(ref calls));
            }
        };

        // One connect and one replacement attempt that found no fresher token; not one per shrinking interval.
        Assert.That(await callsWhenClosed.Task.Within(TimeSpan.FromSeconds(15)), Is.EqualTo(2));
    }

    /// <summary>Cuts the client's connection from the server side and waits until it knows.</summary>
    private async Task CutAsync(HubsClient client, string userId)
    {
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (_, e) =>
        {
            if (e.Current == HubsConnectionState.Reconnecting)
            {
                lost.TrySetResult();
            }
        };
        Server.Services.GetRequiredService<ConnectionAborter>().AbortUser(userId);
        await lost.Task.Within();
    }
}
