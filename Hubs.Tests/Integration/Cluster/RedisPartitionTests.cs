using Hubs.Contracts;
using Hubs.Server.Infrastructure.Redis;
using Hubs.Server.Presence;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// T27, the partition: one node loses Redis alone for longer than the presence timeout, so the other, which saw Redis
/// all along, rightly takes it for dead and reaps its users. When it is back, none of its connections is left
/// half-present (in the room's group, out of its presence): each is told to reconnect and joins again.
/// </summary>
public sealed class RedisPartitionTests : HubsFixture
{
    private const int PresenceTimeoutSeconds = ClusterFixture.PresenceTimeoutSeconds;

    private RedisServer _redis = null!;
    private TcpRelay _relay = null!;
    private HubsTestServer[] _nodes = [];

    internal override IReadOnlyList<HubsTestServer> Servers => _nodes;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _redis = await RedisServer.StartAsync();
        _relay = TcpRelay.Start(_redis.Port);
        _nodes =
        [
            await HubsTestServer.StartAsync(Settings(_redis.Configuration)),
            await HubsTestServer.StartAsync(Settings(_relay.Address)),
        ];
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _relay.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Test]
    public async Task T27_NodeCutFromRedisPastTheTimeout_ReapedThenEveryConnectionRejoinsOrIsToldTo()
    {
        ExpectErrorLogs(); // The cut node's SignalR backplane logs its lost Redis connection as an error: it is one.
        await using var clients = new TestClients();
        var room = NewRoomId();
        var alice = await ConnectToAsync(_nodes[0], "alice", null, null);
        var joined = new EventRecorder<UserPresenceEvent>(alice, nameof(IRoomClient.UserJoined));
        var left = new EventRecorder<UserPresenceEvent>(alice, nameof(IRoomClient.UserLeft));
        var received = new EventRecorder<RoomMessage>(alice, nameof(IRoomClient.MessageReceived));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        // Bob uses the typed client, which reconnects and rejoins by itself; carol a bare connection, which does not.
        var bob = await clients.StartAsync([_nodes[1].HubUrl], "bob");
        await bob.JoinRoom(room);
        var carol = await ConnectToAsync(_nodes[1], "carol", null, null);
        var carolClosed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        carol.Closed += error =>
        {
            carolClosed.TrySetResult(error);
            return Task.CompletedTask;
        };
        await carol.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await joined.WaitAsync(_ => joined.Items.Count(e => e.UserId is "bob" or "carol") == 2);

        _relay.Cut();

        // From node 0, which saw Redis all along, a node cut off is a dead node: its users leave, once.
        await left.WaitAsync(_ => left.Items.Select(e => e.UserId).Order().SequenceEqual(["bob", "carol"]), TimeSpan.FromSeconds(15));
        _relay.Mend();

        // Back: carol's connection is told to come back (it allows reconnecting), bob's client does so and rejoins.
        var carolError = await carolClosed.Task.Within(TimeSpan.FromSeconds(15));
        await joined.WaitAsync(_ => joined.Items.Count(e => e.UserId == "bob") == 2, TimeSpan.FromSeconds(15));
        var sent = await Retry(() => bob.SendMessage(new SendMessageRequest(room, "bob is back")));
        var delivered = await received.WaitAsync(m => m.Text == "bob is back");
        var fromNode0 = await alice.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        var fromNode1 = await bob.GetMembers(room);
        await Await.UntilAsync(() => _nodes[1].Services.GetRequiredService<LocalConnections>().Count == 1, "carol's connection is gone from node 1");
        var node1 = _nodes[1].Services.GetRequiredService<NodeIdentity>().Id;
        var node1Entries = await _redis.HashLengthAsync($"hubs:node:{{{node1}}}:conns");

        Assert.Multiple(() =>
        {
            Assert.That(carolError?.Message, Does.Contain(NodeLiveness.PresenceLostCloseText), "carol is told, with a close that allows reconnecting");
            Assert.That(delivered.Sequence, Is.EqualTo(sent.Sequence), "bob sends again and is heard");
            Assert.That(fromNode0.Select(m => m.UserId), Is.EqualTo(new[] { "alice", "bob" }));
            Assert.That(fromNode1.Select(m => m.UserId), Is.EqualTo(new[] { "alice", "bob" }));
            Assert.That(left.Items.Count(e => e.UserId == "bob"), Is.EqualTo(1), "bob left once, when node 0 reaped his node");
            Assert.That(node1Entries, Is.EqualTo(1), "node 1's entries are its open connections");
        });
    }

    [Test]
    public async Task T27_NodeBackWhileASurvivorWasReapingIt_ClosesTheConnectionsMarkedAsReapedOnly()
    {
        // A survivor that began reaping node 1 marked carol's connection before node 1 came back, and stopped there:
        // node 1 closes carol's connection (which the reap may have half-departed) and keeps dave's.
        var room = NewRoomId();
        var carol = await ConnectToAsync(_nodes[1], "carol", null, null);
        var dave = await ConnectToAsync(_nodes[1], "dave", null, null);
        var carolClosed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        carol.Closed += error =>
        {
            carolClosed.TrySetResult(error);
            return Task.CompletedTask;
        };
        await carol.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await carol.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await dave.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var node1 = _nodes[1].Services.GetRequiredService<NodeIdentity>().Id;
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(_redis.Configuration);
        var entries = await redis.GetDatabase().HashGetAllAsync($"hubs:node:{{{node1}}}:conns");
        var carolConnection = entries.Single(e => e.Value == "carol").Name;

        await redis.GetDatabase().SetAddAsync($"hubs:node:{{{node1}}}:reaped", carolConnection);

        var carolError = await carolClosed.Task.Within(TimeSpan.FromSeconds(10));
        var sent = await dave.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "dave stays"));
        await Await.UntilAsync(async () => !await redis.GetDatabase().KeyExistsAsync($"hubs:node:{{{node1}}}:reaped"), "the marks are dropped");
        var members = await dave.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);

        Assert.Multiple(() =>
        {
            Assert.That(carolError?.Message, Does.Contain(NodeLiveness.PresenceLostCloseText), "the marked connection is told to come back");
            Assert.That(dave.State, Is.EqualTo(HubConnectionState.Connected), "an unmarked one stays");
            Assert.That(sent.Sequence, Is.EqualTo(1));
            Assert.That(members.Select(m => m.UserId), Is.EqualTo(new[] { "dave" }), "carol's closed connection departed");
        });
    }

    private static async Task<T> Retry<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Hubs.Client.HubsException error) when (error.Code == ErrorCodes.Unavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static Dictionary<string, string?> Settings(string redis) => new()
    {
        ["Redis:Configuration"] = redis,
        ["Hubs:Presence:TimeoutSeconds"] = PresenceTimeoutSeconds.ToString(),
    };
}
