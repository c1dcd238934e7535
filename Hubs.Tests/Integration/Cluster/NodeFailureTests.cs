using System.Diagnostics;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>T20: a node killed with SIGKILL leaves no ghost presence; survivors announce it once.</summary>
public sealed class NodeFailureTests : ClusterFixture
{
    protected override int NodeCount => 2;

    [Test]
    public async Task T20_KillNineNodeWithMembers_SurvivorsAnnounceUserLeftOnceWithinTimeout()
    {
        var doomed = new[] { "victor", "vera" };
        await using var victim = await StartDoomedNodeAsync(doomed);
        var (room, watchers, left) = (victim.Room, victim.Watchers, victim.Left);

        var clock = Stopwatch.StartNew();
        await victim.Process.KillAsync();
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
