using System.Net;
using Hubs.Contracts;
using Hubs.Server.Infrastructure.Redis;
using Hubs.Server.Presence;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// T27: a Redis outage is not node death. Members on two nodes (or on a single node, whose own heartbeat lapses), Redis
/// stopped and started again with its data under traffic: nobody who stayed is announced as gone, presence and counts
/// are exact afterwards, everyone sends again; a node really killed during the outage, and a connection that really
/// closed during it, leave once.
/// </summary>
[TestFixture(2)]
[TestFixture(1)]
public sealed class RedisOutagePresenceTests(int nodes) : ClusterFixture
{
    /// <summary>A heartbeat lives two thirds of the presence timeout.</summary>
    private const double HeartbeatLifetimeSeconds = PresenceTimeoutSeconds * 2.0 / 3;

    /// <summary>Two nodes, or one whose own heartbeat lapses with nobody to reap it.</summary>
    protected override int NodeCount => nodes;

    private static IEnumerable<TestCaseData> Outages()
    {
        yield return new TestCaseData(2.0).SetName("T27_RedisAwayTwoSeconds_NobodyLeavesMembersExactEveryoneSends");
        yield return new TestCaseData(1.5 * HeartbeatLifetimeSeconds).SetName("T27_RedisAwayOneAndAHalfHeartbeatLifetimes_NobodyLeavesMembersExactEveryoneSends");
        yield return new TestCaseData(1.5 * PresenceTimeoutSeconds).SetName("T27_RedisAwayOneAndAHalfPresenceTimeouts_NobodyLeavesMembersExactEveryoneSends");
    }

    [TestCaseSource(nameof(Outages))]
    public async Task RedisOutage_UnderTraffic_NoFalseDeparturesAndEveryoneSendsAgain(double outageSeconds)
    {
        ExpectErrorLogs(); // The SignalR backplane logs the lost Redis connection as an error: it is one.
        var room = NewRoomId();
        var members = new (string User, int Node)[] { ("ann", 0), ("ben", 1), ("cat", 0), ("cat", 1) };
        var connections = new List<HubConnection>();
        foreach (var (user, node) in members)
        {
            connections.Add(await ConnectAsync(node % NodeCount, user));
        }

        var leaver = await ConnectAsync(1 % NodeCount, "dan");
        var left = connections.Select(c => new EventRecorder<UserPresenceEvent>(c, nameof(IRoomClient.UserLeft))).ToArray();
        await connections[0].InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var connection in connections.Append(leaver))
        {
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        await using (var traffic = new Traffic(connections, room))
        {
            await traffic.SentAsync(); // Traffic flows before the outage.
            await Redis.StopAsync();

            // The one who really leaves does so while Redis is away: that departure fails now and is made afterwards.
            await leaver.StopAsync();
            await Task.Delay(TimeSpan.FromSeconds(outageSeconds)); // The fault itself: how long Redis stays away.
            await Redis.RunAsync();
            var reapingRounds = Nodes.Select(n => n.Services.GetRequiredService<NodeLiveness>().ReapingRounds).ToArray();
            await WaitReadyAsync();
            traffic.ResetCounts();
            await traffic.SentAsync(TimeSpan.FromSeconds(10));

            // Every node has since been entitled to reap for two rounds: a false departure would have happened by now.
            await Await.UntilAsync(
                () => Nodes.Select((n, i) => n.Services.GetRequiredService<NodeLiveness>().ReapingRounds - reapingRounds[i]).All(r => r >= 2),
                "every node has had two reaping rounds since Redis returned", TimeSpan.FromSeconds(15));
        }

        foreach (var recorder in left)
        {
            await recorder.WaitAsync(e => e.UserId == "dan", TimeSpan.FromSeconds(10));
        }

        var views = new List<string>();
        var counts = new List<int>();
        foreach (var connection in connections)
        {
            var listed = await connection.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
            views.Add(string.Join(",", listed.Select(m => m.UserId)));
            counts.Add((await connection.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room)).MemberCount);
        }

        var sent = new List<string>();
        for (var i = 0; i < connections.Count; i++)
        {
            sent.Add(await SendAsync(connections[i], room, $"after {i}"));
        }

        // Cached room views: the last member's node reads the room (and caches it), the owner renames it, and the next
        // read there shows the change: the room-change subscription came back with Redis.
        var viewer = connections[^1];
        var updated = new EventRecorder<RoomInfo>(viewer, nameof(IRoomClient.RoomUpdated));
        await viewer.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);
        await connections[0].InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), new UpdateRoomRequest(room, DisplayName: "renamed after the outage"));
        await updated.WaitAsync();
        var renamed = (await viewer.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room)).DisplayName;

        var recorded = new List<long>();
        foreach (var node in Nodes)
        {
            var id = node.Services.GetRequiredService<NodeIdentity>().Id;
            recorded.Add(await Redis.HashLengthAsync($"hubs:node:{{{id}}}:conns"));
        }

        var catConnections = await Redis.SetMembersAsync("hubs:user:{cat}:conns");
        var danConnections = await Redis.SetMembersAsync("hubs:user:{dan}:conns");
        Assert.Multiple(() =>
        {
            Assert.That(catConnections, Has.Count.EqualTo(2), "cat's two connections are counted");
            Assert.That(danConnections, Is.Empty, "dan's connection is no longer counted");
            Assert.That(left.Select(r => string.Join(",", r.Items.Select(e => e.UserId))), Has.All.EqualTo("dan"),
                "UserLeft once for the one who left, for nobody who stayed");
            Assert.That(views, Has.All.EqualTo("ann,ben,cat"), "GetMembers exact on both nodes");
            Assert.That(counts, Has.All.EqualTo(3), "member counts exact");
            Assert.That(sent, Has.All.EqualTo("ok"), "every member sends");
            Assert.That(renamed, Is.EqualTo("renamed after the outage"), "cached views hear room changes again");
            Assert.That(recorded, Is.EqualTo(Nodes.Select(n => (long)n.Services.GetRequiredService<LocalConnections>().Count)),
                "each node's entries are its open connections");
        });
    }

    [Test]
    public async Task T27_NodeKilledDuringOutage_ItsUsersReapedOnceAfterwards_NobodyElseLeaves()
    {
        ExpectErrorLogs(); // The SignalR backplane logs the lost Redis connection as an error: it is one.
        var doomed = new[] { "victor", "vera" };
        await using var victim = await StartDoomedNodeAsync(doomed);
        var (room, watchers, left) = (victim.Room, victim.Watchers, victim.Left);

        await Redis.StopAsync();
        await victim.Process.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.5 * PresenceTimeoutSeconds)); // The fault itself: how long Redis stays away.
        await Redis.RunAsync();
        await WaitReadyAsync();

        foreach (var recorder in left)
        {
            await recorder.WaitAsync(_ => recorder.Items.Count(e => doomed.Contains(e.UserId)) == doomed.Length, TimeSpan.FromSeconds(15));
        }

        // The reap is complete once the dead node has left the node list; both survivors run reapers and the fence
        // lets only one remove it.
        await Await.UntilAsync(async () => (await Redis.SetMembersAsync("hubs:nodes")).Count == NodeCount, "the dead node is removed from the cluster");
        var views = new List<string>();
        foreach (var watcher in watchers)
        {
            views.Add(string.Join(",", (await watcher.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room)).Select(m => m.UserId)));
        }

        Assert.Multiple(() =>
        {
            foreach (var recorder in left)
            {
                Assert.That(recorder.Items.Select(e => e.UserId).Order(), Is.EqualTo(doomed.Order()), "each dead user once, nobody else");
            }

            Assert.That(views, Has.All.EqualTo("watcher-a,watcher-b"));
        });
    }

    private async Task WaitReadyAsync()
    {
        using var http = new HttpClient();
        foreach (var node in Nodes)
        {
            await Await.UntilAsync(async () => (await http.GetAsync(new Uri(node.BaseAddress, HubRoutes.Ready))).StatusCode == HttpStatusCode.OK,
                "readiness recovers on every node", TimeSpan.FromSeconds(15));
        }
    }

    private static async Task<string> SendAsync(HubConnection connection, string room, string text)
    {
        try
        {
            await connection.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, text));
            return "ok";
        }
        catch (HubException error)
        {
            return error.Message;
        }
    }

    /// <summary>Every member sends all the time, before, during and after the outage; refusals while Redis is away are expected.</summary>
    private sealed class Traffic : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _senders;
        private readonly int[] _sent;

        public Traffic(IReadOnlyList<HubConnection> connections, string room)
        {
            _sent = new int[connections.Count];
            _senders = connections.Select((connection, i) => Task.Run(async () =>
            {
                for (var n = 0; !_stop.IsCancellationRequested; n++)
                {
                    if (await SendAsync(connection, room, $"traffic {i}.{n}") == "ok")
                    {
                        Interlocked.Increment(ref _sent[i]);
                    }

                    // Pacing, a send every 50 ms per member: traffic, not a flood.
                    await Task.Delay(50);
                }
            })).ToArray();
        }

        public void ResetCounts() => Array.Clear(_sent);

        /// <summary>Waits until every sender has had a send accepted since the last reset.</summary>
        public Task SentAsync(TimeSpan? timeout = null) =>
            Await.UntilAsync(() => Enumerable.Range(0, _sent.Length).All(i => Volatile.Read(ref _sent[i]) > 0), "every member's sends are accepted", timeout);

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await Task.WhenAll(_senders);
            _stop.Dispose();
        }
    }
}
