using Hubs.Client;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Presence;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration;

/// <summary>
/// Contract version 2 through the typed client against the real server (threshold 20, join results of at most 10): the
/// roster of a joined room pages in what the join result left out, follows events below the threshold and digests past
/// it (both switches included), pages in again after a truncated digest, and starts over from the rejoin after a
/// reconnect; its count is exact and its members are the server's.
/// </summary>
public sealed class LargeRoomClientTests : ServerFixture
{
    private const int Threshold = 20;
    private const int JoinMembersLimit = 10;

    private TestClients _clients = new();

    protected override IDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["Hubs:Presence:DigestThreshold"] = Threshold.ToString(),
        ["Hubs:Presence:JoinMembersLimit"] = JoinMembersLimit.ToString(),
        ["Hubs:Presence:DigestIntervalMilliseconds"] = "200",
        ["Hubs:Limits:ConnectsPerMinutePerAddress"] = "1000",
    };

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ConnectionAborter>();
        services.Configure<HubOptions>(options => options.AddFilter<ConnectionAborter>());
    }

    [SetUp]
    public void NewClients() => _clients = new TestClients();

    [TearDown]
    public async Task DisposeClientsAsync() => await _clients.DisposeAsync();

    [Test]
    public async Task Roster_EventsRoomJoinResultIncomplete_PagedIn_ThenFollowsEvents()
    {
        var room = NewRoomId();
        var owner = await _clients.StartAsync([Server.HubUrl], "owner");
        await owner.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await owner.JoinRoom(room);
        await SeedAsync(room, "s", 0, 13);
        var watcher = await _clients.StartAsync([Server.HubUrl], "watcher");
        var changes = new EventRecorder<RosterChangedEvent>();
        using var onChange = watcher.OnRosterChanged(changes.Add);

        var joined = await watcher.JoinRoom(room);
        var paged = await changes.WaitAsync(c => c.Roster.IsComplete);
        var newbie = await ConnectAsync("newbie");
        await newbie.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var arrived = await changes.WaitAsync(c => c.Joined.Any(m => m.UserId == "newbie"));
        await newbie.InvokeAsync(nameof(IRoomHub.SetStatus), PresenceStatus.Away);
        var away = await changes.WaitAsync(c => c.Changed.Any(m => m.UserId == "newbie"));
        await newbie.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
        var gone = await changes.WaitAsync(c => c.Left.Contains("newbie"));

        Assert.Multiple(() =>
        {
            Assert.That((joined.MembersComplete, joined.Members.Count), Is.EqualTo((false, JoinMembersLimit)), "the join result was bounded");
            Assert.That(paged.Roster.Members.Keys, Is.EquivalentTo(Seeded("s", 0, 13).Append("owner").Append("watcher")));
            Assert.That((paged.Roster.MemberCount, paged.Roster.PresenceMode), Is.EqualTo((15, PresenceModes.Events)));
            Assert.That(arrived.Roster.MemberCount, Is.EqualTo(16));
            Assert.That(away.Roster.Members["newbie"].Status, Is.EqualTo(PresenceStatus.Away));
            Assert.That(gone.Roster.MemberCount, Is.EqualTo(15));
            Assert.That(watcher.Roster(room)!.Members.Keys, Is.EquivalentTo(paged.Roster.Members.Keys));
        });
    }

    [Test]
    public async Task Roster_RoomCrossesTheThresholdBothWays_ExactThroughDigestsAndEvents()
    {
        var room = NewRoomId();
        var watcher = await _clients.StartAsync([Server.HubUrl], "watcher");
        var digests = new EventRecorder<PresenceDigestEvent>();
        using var onDigest = watcher.OnPresenceDigest(digests.Add);
        await watcher.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await watcher.JoinRoom(room);
        var users = Enumerable.Range(1, 24).Select(i => $"u{i:D2}").ToArray();
        var connections = await Task.WhenAll(users.Select(u => ConnectAsync(u)));

        await Task.WhenAll(connections.Select(c => c.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room)));
        await Await.UntilAsync(() => watcher.Roster(room) is { PresenceMode: PresenceModes.Digest, MemberCount: 25, Members.Count: 25 }, "the roster holds all 25 in digest mode");
        var large = watcher.Roster(room)!;
        await Task.WhenAll(connections.Take(16).Select(c => c.InvokeAsync(nameof(IRoomHub.LeaveRoom), room)));
        await Await.UntilAsync(() => watcher.Roster(room) is { PresenceMode: PresenceModes.Events, MemberCount: 9 }, "the roster is back in events mode with 9");
        await connections[^1].InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
        await Await.UntilAsync(() => watcher.Roster(room) is { MemberCount: 8 }, "the last leave by its event");
        var small = watcher.Roster(room)!;

        Assert.Multiple(() =>
        {
            Assert.That(large.Members.Keys, Is.EquivalentTo(users.Append("watcher")));
            Assert.That(large.IsComplete, Is.True);
            Assert.That(digests.Items, Is.Not.Empty, "past the threshold, the roster followed digests");
            Assert.That(small.Members.Keys, Is.EquivalentTo(users.Skip(16).SkipLast(1).Append("watcher")));
            Assert.That((small.PresenceMode, small.IsComplete), Is.EqualTo((PresenceModes.Events, true)));
        });
    }

    [Test]
    public async Task Roster_TruncatedDigest_PagedInAgain()
    {
        var room = NewRoomId();
        var owner = await _clients.StartAsync([Server.HubUrl], "owner");
        await owner.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await SeedAsync(room, "a", 0, Threshold);
        var watcher = await _clients.StartAsync([Server.HubUrl], "watcher");
        var digests = new EventRecorder<PresenceDigestEvent>();
        using var onDigest = watcher.OnPresenceDigest(digests.Add);
        await watcher.JoinRoom(room);
        await Await.UntilAsync(() => watcher.Roster(room) is { IsComplete: true }, "the first paging is done");

        // More joins than a digest list holds, then one that has the room's digest sent.
        await SeedAsync(room, "b", 0, 150);
        var trigger = await ConnectAsync("trigger");
        await trigger.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var truncated = await digests.WaitAsync(d => d.Truncated);
        await Await.UntilAsync(() => watcher.Roster(room) is { IsComplete: true, Members.Count: 172 }, "the roster paged every member in");
        var roster = watcher.Roster(room)!;

        Assert.Multiple(() =>
        {
            Assert.That(truncated.Joined, Has.Count.EqualTo(LargeRoomBounds.DigestListLimit));
            Assert.That(roster.MemberCount, Is.EqualTo(172));
            Assert.That(roster.Members.Keys, Is.EquivalentTo(Seeded("a", 0, Threshold).Concat(Seeded("b", 0, 150)).Append("watcher").Append("trigger")));
        });
    }

    [Test]
    public async Task Roster_Reconnect_StartsOverFromTheRejoin_PagesTheDigestRoomIn()
    {
        var room = NewRoomId();
        var owner = await _clients.StartAsync([Server.HubUrl], "owner");
        await owner.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await SeedAsync(room, "s", 0, 25);
        var tokens = new GatedTokens("watcher");
        var watcher = _clients.New([Server.HubUrl], tokens.GetAsync);
        var states = new EventRecorder<HubsConnectionState>();
        var changes = new EventRecorder<RosterChangedEvent>();
        watcher.StateChanged += (_, e) => states.Add(e.Current);
        using var onChange = watcher.OnRosterChanged(changes.Add);
        await watcher.StartAsync();
        await watcher.JoinRoom(room);
        await Await.UntilAsync(() => watcher.Roster(room) is { IsComplete: true, MemberCount: 26 }, "the first paging is done");

        // While the watcher is away, three leave and two join without it hearing of it.
        Server.Services.GetRequiredService<ConnectionAborter>().AbortUser("watcher");
        await states.WaitAsync(s => s == HubsConnectionState.Reconnecting);
        var presence = Server.Services.GetRequiredService<IPresenceTracker>();
        foreach (var userId in Seeded("s", 0, 3))
        {
            await presence.LeaveAsync(room, SeededConnection(room, userId), CancellationToken.None);
        }

        foreach (var user in new[] { "late1", "late2" })
        {
            await (await ConnectAsync(user)).InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        var before = changes.Items.Count;
        tokens.Open();
        await states.WaitAsync(s => s == HubsConnectionState.Connected, TimeSpan.FromSeconds(15));
        await Await.UntilAsync(() => changes.Items.Skip(before).Any(c => c.Reset && c.Roster.IsComplete), "the rejoin's roster was paged in");
        var reset = changes.Items.Skip(before).First(c => c.Reset && c.Roster.IsComplete);

        Assert.Multiple(() =>
        {
            Assert.That(reset.Roster.Members.Keys, Is.EquivalentTo(Seeded("s", 3, 22).Append("watcher").Append("late1").Append("late2")));
            Assert.That((reset.Roster.MemberCount, reset.Roster.PresenceMode), Is.EqualTo((25, PresenceModes.Digest)));
        });
    }

    private static IEnumerable<string> Seeded(string prefix, int from, int count) =>
        Enumerable.Range(from, count).Select(i => $"{prefix}{i:D3}");

    private static string SeededConnection(string roomId, string userId) => $"seeded-{roomId}-{userId}";

    /// <summary>Users in the room through the presence service itself: many members without as many sockets, and nothing announced.</summary>
    private async Task SeedAsync(string roomId, string prefix, int from, int count)
    {
        var presence = Server.Services.GetRequiredService<IPresenceTracker>();
        foreach (var userId in Seeded(prefix, from, count))
        {
            await presence.JoinAsync(roomId, SeededConnection(roomId, userId), new HubsUser(userId, userId, [], null), 5000, 100, CancellationToken.None);
        }
    }
}
