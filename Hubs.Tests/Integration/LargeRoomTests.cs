using System.Collections.Concurrent;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Presence;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration;

/// <summary>
/// Contract version 2, large rooms, on one node (in-process state) and on two nodes sharing a real Redis: the join's
/// member list is bounded; past the threshold a room reports presence by digests of net changes, each join and leave
/// once, whichever node the users are on; it switches back below half the threshold; members page by id; typing is bounded.
/// </summary>
[TestFixture(1)]
[TestFixture(2)]
public sealed class LargeRoomTests(int nodes) : HubsFixture
{
    private const int Threshold = 20;
    private const int JoinMembersLimit = 10;

    private readonly List<HubsTestServer> _servers = [];
    private RedisServer? _redis;

    internal override IReadOnlyList<HubsTestServer> Servers => _servers;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Hubs:Presence:DigestThreshold"] = Threshold.ToString(),
            ["Hubs:Presence:JoinMembersLimit"] = JoinMembersLimit.ToString(),

            // Long enough that a join and a leave made just after a digest fall in one interval.
            ["Hubs:Presence:DigestIntervalMilliseconds"] = "1000",
            ["Hubs:Limits:DefaultMaxMembers"] = "5000",
        };
        if (nodes > 1)
        {
            _redis = await RedisServer.StartAsync();
            settings["Redis:Configuration"] = _redis.Configuration;
            settings["Hubs:Presence:TimeoutSeconds"] = ClusterFixture.PresenceTimeoutSeconds.ToString();
        }

        for (var i = 0; i < nodes; i++)
        {
            _servers.Add(await HubsTestServer.StartAsync(settings, _ => { }));
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
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
    public async Task Digest_FromThreshold_NetChangesEachUserOnce_BackToEventsBelowHalf()
    {
        var room = NewRoomId();
        var watcher = await ConnectToAsync(_servers[0], "watcher", null, null);
        var seen = new PresenceLog(watcher);
        await watcher.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        var joined = await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        Assert.That(joined.Room.PresenceMode, Is.EqualTo(PresenceModes.Events));

        // Up to the threshold, users joining on every node at once: each by its event, then the switch.
        var users = Enumerable.Range(1, 29).Select(i => $"u{i:D2}").ToArray();
        var connections = new ConcurrentDictionary<string, HubConnection>();
        await Task.WhenAll(users.Take(Threshold - 1).Select(async (u, i) => connections[u] = await JoinAsync(i, u, room)));
        var toDigest = await seen.Updates.WaitAsync(r => r.PresenceMode == PresenceModes.Digest);
        Assert.That(toDigest.MemberCount, Is.EqualTo(Threshold));

        // Past it, by digests only; and a user who joins and leaves within one interval is in none.
        await Task.WhenAll(users.Skip(Threshold - 1).Take(5).Select(async (u, i) => connections[u] = await JoinAsync(i, u, room)));
        var ghost = await ConnectToAsync(_servers[^1], "ghost", null, null);
        var rest = users.Skip(Threshold + 4).ToArray();
        var restConnections = await Task.WhenAll(rest.Select((u, i) => ConnectToAsync(_servers[i % _servers.Count], u, null, null)));

        // The digest that reports the last of these has just gone out: the room's next one is an interval away.
        await seen.UntilJoinedAsync(users.Take(Threshold + 4));
        await ghost.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await ghost.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
        await Task.WhenAll(restConnections.Select(c => c.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room)));
        for (var i = 0; i < rest.Length; i++)
        {
            connections[rest[i]] = restConnections[i];
        }

        await seen.UntilJoinedAsync(users);
        Assert.That(seen.Digests.Items[^1].MemberCount, Is.EqualTo(users.Length + 1), "the digest's count is exact");

        // Down again, leaving on every node at once: below half the threshold, the last digest, then the switch back;
        // after it, events again.
        var leaving = users.Take(users.Length - 8).ToArray();
        await Task.WhenAll(leaving.Select(u => connections[u].InvokeAsync(nameof(IRoomHub.LeaveRoom), room)));
        var toEvents = await seen.Updates.WaitAsync(r => r.PresenceMode == PresenceModes.Events);
        Assert.That(toEvents.MemberCount, Is.EqualTo(9), "switched back at the first count below half the threshold");
        var lastOne = users[^1];
        await connections[lastOne].InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
        await seen.Left.WaitAsync(e => e.UserId == lastOne);

        Assert.Multiple(() =>
        {
            foreach (var user in users)
            {
                Assert.That(seen.JoinReports(user), Is.EqualTo(1), $"{user}'s join reported once");
            }

            foreach (var user in leaving.Append(lastOne))
            {
                Assert.That(seen.LeaveReports(user), Is.EqualTo(1), $"{user}'s leave reported once");
            }

            Assert.That(seen.JoinReports("ghost") + seen.LeaveReports("ghost"), Is.Zero, "joined and left within one interval: in no list");
            Assert.That(seen.Joined.Items.Select(e => e.UserId), Is.EquivalentTo(users.Take(Threshold - 1).Prepend("watcher")), "events only up to the threshold");
            Assert.That(seen.Digests.Items, Has.All.Matches<PresenceDigestEvent>(d => !d.Truncated && d.RoomId == room));
            Assert.That(seen.Updates.Items.Select(r => r.PresenceMode), Is.EqualTo(new[] { PresenceModes.Digest, PresenceModes.Events }));
            Assert.That(seen.DigestsBeforeSwitch, Is.Zero, "the switch is announced before the first digest");
            Assert.That(seen.LastDigestBeforeSwitchBack, Is.Not.Null.And.Property(nameof(PresenceDigestEvent.Left)).Not.Empty,
                "the changes not yet reported went out just before the switch back");
        });
    }

    [Test]
    public async Task StatusChanges_InDigestRoom_NetInTheNextDigest()
    {
        var room = NewRoomId();
        var watcher = await ConnectToAsync(_servers[0], "watcher", null, null);
        var seen = new PresenceLog(watcher);
        await watcher.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await SeedAsync(room, Threshold, "seed");
        var flipper = await JoinAsync(0, "flipper", room);
        var waverer = await JoinAsync(1, "waverer", room);

        // The digest that reports them has just gone out: the room's next one is an interval away.
        await seen.UntilJoinedAsync(["flipper", "waverer"]);

        // Away and back within one interval is no change; away and staying away is one.
        await waverer.InvokeAsync(nameof(IRoomHub.SetStatus), PresenceStatus.Away);
        await waverer.InvokeAsync(nameof(IRoomHub.SetStatus), PresenceStatus.Online);
        await flipper.InvokeAsync(nameof(IRoomHub.SetStatus), PresenceStatus.Away);
        var changed = await seen.Digests.WaitAsync(d => d.Changed.Any(m => m.UserId == "flipper"));

        Assert.Multiple(() =>
        {
            Assert.That(changed.Changed, Is.EqualTo(new[] { new MemberInfo("flipper", "flipper", PresenceStatus.Away) }));
            Assert.That(seen.Digests.Items.SelectMany(d => d.Changed).Select(m => m.UserId), Has.None.EqualTo("waverer"));
            Assert.That(seen.Changed.Items, Is.Empty, "no PresenceChanged events in a digest room");
        });
    }

    [Test]
    public async Task JoinRoom_BoundedOnlineFirst_MembersCompleteOnlyWhenAllFit()
    {
        var room = NewRoomId();
        var small = NewRoomId();
        var owner = await ConnectToAsync(_servers[0], "owner", null, null);
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(small, RoomPermission.Public));
        var members = new List<HubConnection>();
        for (var i = 0; i < 14; i++)
        {
            members.Add(await JoinAsync(i, $"m{i:D2}", room));
        }

        // Eight of them away: of fifteen members, seven are online (the newcomer included).
        for (var i = 0; i < 8; i++)
        {
            await members[i].InvokeAsync(nameof(IRoomHub.SetStatus), PresenceStatus.Away);
        }

        var result = await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), small);
        await JoinAsync(1, "m00", small);
        var third = await ConnectToAsync(_servers[0], "m01", null, null);
        var smallResult = await third.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), small);

        Assert.Multiple(() =>
        {
            Assert.That(result.Room.MemberCount, Is.EqualTo(15), "exact");
            Assert.That(result.Members, Has.Count.EqualTo(JoinMembersLimit));
            Assert.That(result.MembersComplete, Is.False);
            Assert.That(result.Members.Take(7).Select(m => m.Status), Has.All.EqualTo(PresenceStatus.Online), "online ones first");
            Assert.That(result.Members.Skip(7).Select(m => m.Status), Has.All.EqualTo(PresenceStatus.Away));
            Assert.That(result.Members.Take(7).Select(m => m.UserId), Is.EquivalentTo(new[] { "owner", "m08", "m09", "m10", "m11", "m12", "m13" }));
            Assert.That(smallResult.MembersComplete, Is.True);
            Assert.That(smallResult.Members.Select(m => m.UserId), Is.EquivalentTo(new[] { "owner", "m00", "m01" }));
        });
    }

    [Test]
    public async Task GetMembersPage_PagesThroughThreeThousandMembers_GetMembersRefusedInDigestRoom()
    {
        var room = NewRoomId();
        var owner = await ConnectToAsync(_servers[0], "owner", null, null);
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public, MaxMembers: 5000));
        await SeedAsync(room, 2999, "p");
        var reader = await ConnectToAsync(_servers[^1], "owner", null, null);
        var joined = await reader.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        var pages = new List<MembersPage>();
        string? after = null;
        do
        {
            var page = await reader.InvokeAsync<MembersPage>(nameof(IRoomHub.GetMembersPage), new GetMembersPageRequest(room, after, 1000));
            pages.Add(page);
            after = page.NextAfterUserId;
        }
        while (after is not null && pages.Count < 10);

        var defaultPage = await reader.InvokeAsync<MembersPage>(nameof(IRoomHub.GetMembersPage), new GetMembersPageRequest(room, "p0100"));
        var all = pages.SelectMany(p => p.Members).Select(m => m.UserId).ToArray();
        var refusal = await HubAssert.RefusedAsync(() => reader.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room), ErrorCodes.InvalidArgument);
        await HubAssert.RefusedAsync(() => reader.InvokeAsync<MembersPage>(nameof(IRoomHub.GetMembersPage), new GetMembersPageRequest(room, null, 1001)), ErrorCodes.InvalidArgument);
        await HubAssert.RefusedAsync(() => reader.InvokeAsync<MembersPage>(nameof(IRoomHub.GetMembersPage), new GetMembersPageRequest(room, null, 0)), ErrorCodes.InvalidArgument);
        await HubAssert.RefusedAsync(
            () => owner.InvokeAsync<MembersPage>(nameof(IRoomHub.GetMembersPage), new GetMembersPageRequest(NewRoomId())), ErrorCodes.NotFound);

        Assert.Multiple(() =>
        {
            Assert.That(joined.Room.MemberCount, Is.EqualTo(3000));
            Assert.That(joined.Room.PresenceMode, Is.EqualTo(PresenceModes.Digest));
            Assert.That((joined.Members.Count, joined.MembersComplete), Is.EqualTo((JoinMembersLimit, false)));
            Assert.That(pages.Select(p => p.Members.Count), Is.EqualTo(new[] { 1000, 1000, 1000 }));
            Assert.That(pages[^1].NextAfterUserId, Is.Null, "none follows the last page");
            Assert.That(pages[0].NextAfterUserId, Is.EqualTo(pages[0].Members[^1].UserId));
            Assert.That(all, Is.Unique);
            Assert.That(all, Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
            Assert.That(all, Does.Contain("owner"));
            Assert.That(defaultPage.Members, Has.Count.EqualTo(LargeRoomBounds.DefaultPageLimit));
            Assert.That(defaultPage.Members[0].UserId, Is.EqualTo("p0101"), "strictly after the bound");
            Assert.That(refusal, Does.Contain("GetMembersPage"));
        });
    }

    [Test]
    public async Task Typing_DigestRoomForwardsThreeTypistsASecond_EventsRoomAll()
    {
        var large = NewRoomId();
        var small = NewRoomId();
        var watcher = await ConnectToAsync(_servers[0], "watcher", null, null);
        await watcher.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(large, RoomPermission.Public));
        await watcher.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(small, RoomPermission.Public));
        await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), large);
        await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), small);
        var typing = new EventRecorder<UserTypingEvent>(watcher, nameof(IRoomClient.UserTyping));
        var messages = new EventRecorder<RoomMessage>(watcher, nameof(IRoomClient.MessageReceived));
        await SeedAsync(large, Threshold, "seed");
        var typists = new List<HubConnection>();
        for (var i = 0; i < 5; i++)
        {
            var typist = await ConnectToAsync(_servers[i % _servers.Count], $"typist{i}", null, null);
            await typist.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), large);
            await typist.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), small);
            typists.Add(typist);
        }

        // Each typist's message goes out after its typing signal, on the same node: once all five messages are in,
        // every typing signal that was forwarded is in too.
        foreach (var room in new[] { large, small })
        {
            await Task.WhenAll(typists.Select(async (t, i) =>
            {
                await t.InvokeAsync(nameof(IRoomHub.Typing), room);
                await t.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"after typing {i}"));
            }));
            await Await.UntilAsync(() => messages.Items.Count(m => m.RoomId == room) == 5, "every typist's message arrived");
        }

        var typistsIn = (string room) => typing.Items.Where(t => t.RoomId == room).Select(t => t.UserId).Distinct().Count();
        Assert.Multiple(() =>
        {
            Assert.That(typistsIn(large), Is.EqualTo(LargeRoomBounds.TypistsPerSecond), "a digest room forwards three typists a second");
            Assert.That(typistsIn(small), Is.EqualTo(5), "an events room forwards every typist");
        });
    }

    private Task SeedAsync(string roomId, int count, string prefix) => Seed(_servers[0], roomId, count, prefix);

    /// <summary>Users in the room through the presence service itself: many members without as many sockets.</summary>
    internal static async Task Seed(HubsTestServer server, string roomId, int count, string prefix)
    {
        var presence = server.Services.GetRequiredService<IPresenceTracker>();
        for (var start = 0; start < count; start += 100)
        {
            await Task.WhenAll(Enumerable.Range(start, Math.Min(100, count - start)).Select(i =>
                presence.JoinAsync(roomId, $"seeded-{roomId}-{i}", new HubsUser($"{prefix}{i:D4}", $"{prefix} {i}", [], null), 5000, 100, default)));
        }
    }

    private async Task<HubConnection> JoinAsync(int node, string userId, string roomId)
    {
        var connection = await ConnectToAsync(_servers[node % _servers.Count], userId, null, null);
        await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), roomId);
        return connection;
    }
}

/// <summary>Every way a watcher hears of presence: events, digests and switches.</summary>
internal sealed class PresenceLog
{
    public PresenceLog(HubConnection connection)
    {
        Joined = new EventRecorder<UserPresenceEvent>(connection, nameof(IRoomClient.UserJoined));
        Left = new EventRecorder<UserPresenceEvent>(connection, nameof(IRoomClient.UserLeft));
        Changed = new EventRecorder<PresenceChangedEvent>(connection, nameof(IRoomClient.PresenceChanged));
        Digests = new EventRecorder<PresenceDigestEvent>(connection, nameof(IRoomClient.PresenceDigest));
        Updates = new EventRecorder<RoomInfo>();
        connection.On<RoomInfo>(nameof(IRoomClient.RoomUpdated), room =>
        {
            if (room.PresenceMode == PresenceModes.Digest)
            {
                DigestsBeforeSwitch = Digests.Items.Count;
            }

            if (room.PresenceMode == PresenceModes.Events && Digests.Items.Count > 0)
            {
                LastDigestBeforeSwitchBack = Digests.Items[^1];
            }

            Updates.Add(room);
        });
    }

    public EventRecorder<UserPresenceEvent> Joined { get; }

    public EventRecorder<UserPresenceEvent> Left { get; }

    public EventRecorder<PresenceChangedEvent> Changed { get; }

    public EventRecorder<PresenceDigestEvent> Digests { get; }

    public EventRecorder<RoomInfo> Updates { get; }

    public PresenceDigestEvent? LastDigestBeforeSwitchBack { get; private set; }

    public int? DigestsBeforeSwitch { get; private set; }

    public int JoinReports(string userId) =>
        Joined.Items.Count(e => e.UserId == userId) + Digests.Items.Sum(d => d.Joined.Count(m => m.UserId == userId));

    public int LeaveReports(string userId) =>
        Left.Items.Count(e => e.UserId == userId) + Digests.Items.Sum(d => d.Left.Count(id => id == userId));

    public Task UntilJoinedAsync(IEnumerable<string> users) =>
        Await.UntilAsync(() => users.All(u => JoinReports(u) > 0), "every join was reported");
}

/// <summary>Contract version 2 when a node dies: its users in a digest room leave once, by the survivor's digest.</summary>
public sealed class LargeRoomNodeDeathTests : ClusterFixture
{
    protected override int NodeCount => 2;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Hubs:Presence:DigestThreshold"] = "20",
        ["Hubs:Presence:DigestIntervalMilliseconds"] = "1000",
    };

    [Test]
    public async Task NodeDies_InDigestRoom_ItsUsersLeaveOnceByDigest()
    {
        var room = NewRoomId();
        var watcher = await ConnectToAsync(Nodes[0], "watcher", null, null);
        var seen = new PresenceLog(watcher);
        await watcher.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await LargeRoomTests.Seed(Nodes[0], room, 20, "seed");
        await using var doomed = ServerProcess.Start("Development", new Dictionary<string, string>
        {
            ["Redis__Configuration"] = Redis.Configuration,
            ["Hubs__Presence__TimeoutSeconds"] = ClusterFixture.PresenceTimeoutSeconds.ToString(),
            ["Hubs__Presence__DigestThreshold"] = "20",
            ["Hubs__Presence__DigestIntervalMilliseconds"] = "1000",
            ["Auth__SigningKey"] = TestTokens.SigningKey,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
        });
        var url = new Uri(await doomed.ListeningAsync(), HubRoutes.Rooms);
        var users = new[] { "gone1", "gone2", "gone3" };
        foreach (var user in users)
        {
            var connection = Track(new HubConnectionBuilder()
                .WithUrl(url, o =>
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For(user));
                    o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                    o.SkipNegotiation = true;
                })
                .Build());
            await connection.StartAsync();
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        await seen.UntilJoinedAsync(users);
        await doomed.KillAsync();

        // Reaped by a survivor once the presence timeout has passed; reported in the survivor's digest.
        await Await.UntilAsync(() => users.All(u => seen.LeaveReports(u) > 0), "every user of the dead node left", TimeSpan.FromSeconds(20));
        Assert.Multiple(() =>
        {
            Assert.That(users.Select(seen.LeaveReports), Has.All.EqualTo(1), "each left once");
            Assert.That(seen.Left.Items, Is.Empty, "by digest, not by event");
        });
    }
}
