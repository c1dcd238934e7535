using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// T21 through the Redis backplane, where a node delivers each room's messages in order from one subscription: a
/// member that stops reading must not hold up the other members on its node.
/// </summary>
public sealed class ClusterSlowConsumerTests : ClusterFixture
{
    protected override int NodeCount => 2;

    protected override IDictionary<string, string?> ExtraSettings => SlowConsumerTests.Limits;

    [Test]
    public async Task T21_StoppedReaderOnNodeB_OtherMembersOnNodeBKeepReceiving_ThenDroppedAtTheBound()
    {
        using var metricsB = new MetricsRecorder(Nodes[1]);
        var room = NewRoomId();
        var sender = await ConnectAsync(0, "sender");
        var fast = await ConnectAsync(1, "fast");
        var received = new EventRecorder<RoomMessage>(fast, nameof(IRoomClient.MessageReceived));
        var left = new EventRecorder<UserPresenceEvent>(fast, nameof(IRoomClient.UserLeft));
        await sender.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await sender.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await fast.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await using var slow = await SlowConsumerTests.JoinSlowReaderAsync(Nodes[1].HubUrl, room);

        // Acknowledged is not yet delivered across nodes: wait for node B to have written to the slow reader.
        var acknowledged = new List<long>();
        for (var i = 0; i < 3000 && metricsB.Sum(SlowConsumerTests.Behind) == 0; i++)
        {
            acknowledged.Add((await sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, SlowConsumerTests.Bulk))).Sequence);
            await received.WaitAsync(m => m.Sequence == acknowledged[^1]);
        }

        Assert.That(metricsB.Sum(SlowConsumerTests.Behind), Is.EqualTo(1), "the slow reader fell behind on node B");
        for (var i = 0; i < 20; i++)
        {
            acknowledged.Add((await sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"while-behind {i}"))).Sequence);
        }

        // Without the guard node B's delivery of this room waits on the slow reader's socket until the transport gives up.
        await received.WaitAsync(m => m.Sequence == acknowledged[^1]);
        var membersWhileBehind = await fast.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);

        var gone = await left.WaitAsync(e => e.UserId == "slow", TimeSpan.FromSeconds(SlowConsumerTests.TimeoutSeconds + 10));
        Assert.Multiple(() =>
        {
            Assert.That(membersWhileBehind.Select(m => m.UserId), Does.Contain("slow"), "the others got everything while the slow reader was still a member");
            Assert.That(received.Items.Select(m => m.Sequence), Is.EqualTo(acknowledged), "in order, nothing lost");
            Assert.That(gone.RoomId, Is.EqualTo(room));
            Assert.That(metricsB.Sum(SlowConsumerTests.Drops), Is.EqualTo(1), "dropped by node B's guard");
        });
    }
}
