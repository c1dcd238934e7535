using System.Diagnostics;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>T20: a node killed with SIGKILL leaves no ghost presence; survivors announce it once.</summary>
public sealed class NodeFailureTests : ClusterFixture
{
    protected override int NodeCount => 2;

    [Test]
    public async Task T20_KillNineNodeWithMembers_SurvivorsAnnounceUserLeftOnceWithinTimeout()
    {
        await using var victim = ServerProcess.Start("Development", new Dictionary<string, string>
        {
            ["Redis__Configuration"] = Redis.Configuration,
            ["Hubs__Presence__TimeoutSeconds"] = PresenceTimeoutSeconds.ToString(),
            ["Auth__SigningKey"] = TestTokens.SigningKey,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
        });
        var victimUrl = new Uri(await victim.ListeningAsync(), HubRoutes.Rooms);
        var room = NewRoomId();
        var watchers = new[] { await ConnectAsync(0, "watcher-a"), await ConnectAsync(1, "watcher-b") };
        var joined = watchers.Select(w => new EventRecorder<UserPresenceEvent>(w, nameof(IRoomClient.UserJoined))).ToArray();
        var left = watchers.Select(w => new EventRecorder<UserPresenceEvent>(w, nameof(IRoomClient.UserLeft))).ToArray();
        await watchers[0].InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var watcher in watchers)
        {
            await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        var doomed = new[] { "victor", "vera" };
        foreach (var user in doomed)
        {
            var connection = Track(new HubConnectionBuilder()
                .WithUrl(victimUrl, o =>
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For(user));
                    o.Transports = HttpTransportType.WebSockets;
                    o.SkipNegotiation = true;
                })
                .WithKeepAliveInterval(TimeSpan.FromSeconds(1))
                .Build());
            await connection.StartAsync();
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        foreach (var recorder in joined)
        {
            await recorder.WaitAsync(_ => recorder.Items.Count(e => doomed.Contains(e.UserId)) == doomed.Length);
        }

        var clock = Stopwatch.StartNew();
        await victim.KillAsync();
        foreach (var recorder in left)
        {
            await recorder.WaitAsync(_ => recorder.Items.Count(e => doomed.Contains(e.UserId)) == doomed.Length, TimeSpan.FromSeconds(15));
        }

        var detectedAfter = clock.Elapsed;
        var views = await Task.WhenAll(watchers.Select(w => w.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room)));

        // The reap is complete once the dead node has left the node list; both survivors run reapers and the fence
        // lets only one remove it, so every count below stays at one.
        await Await.UntilAsync(async () => (await Redis.SetMembersAsync("hubs:nodes")).Count == NodeCount, "the dead node is removed from the cluster");
        foreach (var watcher in watchers)
        {
            await watcher.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        }

        Assert.Multiple(() =>
        {
            Assert.That(detectedAfter, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(PresenceTimeoutSeconds + 1)), "within the presence timeout");
            Assert.That(views.Select(v => v.Select(m => m.UserId).Order()), Has.All.EqualTo(new[] { "watcher-a", "watcher-b" }));
            foreach (var recorder in left)
            {
                Assert.That(recorder.Items.Where(e => doomed.Contains(e.UserId)).Select(e => e.UserId).Order(), Is.EqualTo(doomed.Order()), "UserLeft once per user");
            }
        });
    }
}
