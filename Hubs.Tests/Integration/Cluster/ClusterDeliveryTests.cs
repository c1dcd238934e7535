using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>Three nodes on one real Redis behave as one service: delivery, order, sequence and access changes.</summary>
public sealed class ClusterDeliveryTests : ClusterFixture
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Hubs:History:MaxMessagesPerRoom"] = "5000",
    };

    [Test]
    public async Task T7_MembersOnThreeNodes_EachMessageOnceInOrder_NonMembersAnywhereReceiveNothing()
    {
        var room = NewRoomId();
        var alice = await ConnectAsync(0, "alice");
        var bob = await ConnectAsync(1, "bob");
        var carol = await ConnectAsync(2, "carol");
        var outsiders = new[] { await ConnectAsync(0, "mallory"), await ConnectAsync(1, "mallory"), await ConnectAsync(2, "oscar") };
        var received = new[] { alice, bob, carol }.Select(c => new EventRecorder<RoomMessage>(c, nameof(IRoomClient.MessageReceived))).ToArray();
        var leaked = outsiders.Select(c => new EventRecorder<RoomMessage>(c, nameof(IRoomClient.MessageReceived))).ToArray();
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var member in new[] { alice, bob, carol })
        {
            await member.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        for (var i = 1; i <= 20; i++)
        {
            await bob.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"m{i}"));
        }

        foreach (var recorder in received)
        {
            await recorder.WaitAsync(m => m.Sequence == 20);
        }

        foreach (var outsider in outsiders)
        {
            await outsider.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
        }

        Assert.Multiple(() =>
        {
            foreach (var recorder in received)
            {
                Assert.That(recorder.Items.Select(m => m.Sequence), Is.EqualTo(Enumerable.Range(1, 20).Select(i => (long)i)));
                Assert.That(recorder.Items.Select(m => m.SenderId).Distinct(), Is.EqualTo(new[] { "bob" }));
            }

            Assert.That(leaked.SelectMany(l => l.Items), Is.Empty, "non-members on every node receive nothing (T7)");
        });
    }

    [Test]
    public async Task FifteenConcurrentSendersOnThreeNodes_EveryMemberGetsGaplessSequenceAndHistoryAgrees()
    {
        const int sendersPerNode = 5;
        const int messagesPerSender = 200;
        const int total = 3 * sendersPerNode * messagesPerSender;
        var room = NewRoomId();
        var owner = await ConnectAsync(0, "owner");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        var members = new[] { await ConnectAsync(0, "m0"), await ConnectAsync(1, "m1"), await ConnectAsync(2, "m2") };
        var received = members.Select(c => new EventRecorder<RoomMessage>(c, nameof(IRoomClient.MessageReceived))).ToArray();
        var senders = new List<HubConnection>();
        for (var node = 0; node < 3; node++)
        {
            for (var s = 0; s < sendersPerNode; s++)
            {
                senders.Add(await ConnectAsync(node, $"sender-{node}-{s}"));
            }
        }

        foreach (var connection in members.Concat(senders))
        {
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        var acknowledged = await Task.WhenAll(senders.Select(async sender =>
        {
            var sequences = new List<long>();
            for (var i = 0; i < messagesPerSender; i++)
            {
                sequences.Add((await sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"{i}"))).Sequence);
            }

            return sequences;
        }));

        foreach (var recorder in received)
        {
            await recorder.WaitAsync(_ => recorder.Items.Count >= total, TimeSpan.FromSeconds(20));
        }

        var histories = new List<long[]>();
        for (var node = 0; node < 3; node++)
        {
            var pages = new List<long>();
            long after = 0;
            while (true)
            {
                var page = await members[node].InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room, after, 200));
                if (page.Count == 0)
                {
                    break;
                }

                pages.AddRange(page.Select(m => m.Sequence));
                after = page[^1].Sequence;
            }

            histories.Add(pages.ToArray());
        }

        var expected = Enumerable.Range(1, total).Select(i => (long)i).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(acknowledged.SelectMany(a => a).Order(), Is.EqualTo(expected), "acknowledged sequences are 1..N, each once");
            foreach (var recorder in received)
            {
                Assert.That(recorder.Items.Select(m => m.Sequence).Order(), Is.EqualTo(expected), "no gap, no duplicate");
            }

            Assert.That(histories, Has.All.EqualTo(expected), "GetHistory answers the same on every node");
        });
    }

    public sealed record Change(string Name, RoomPermission Permission, string Reason, Func<HubConnection, string, Task> Apply)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<TestCaseData> Changes()
    {
        yield return new TestCaseData(new Change("revoke", RoomPermission.Private, RemovalReasons.Revoked,
            (owner, room) => owner.InvokeAsync(nameof(IRoomHub.RevokeInvite), room, "bob"))).SetName("T8_RevokeOnNodeA_MemberOnNodeB_RemovedAndReceivesNothingMore");
        yield return new TestCaseData(new Change("kick", RoomPermission.Public, RemovalReasons.Kicked,
            (owner, room) => owner.InvokeAsync(nameof(IRoomHub.KickUser), room, "bob"))).SetName("T8_KickOnNodeA_MemberOnNodeB_RemovedAndReceivesNothingMore");
        yield return new TestCaseData(new Change("stricter", RoomPermission.Public, RemovalReasons.Revoked,
            (owner, room) => owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), new UpdateRoomRequest(room, Permission: RoomPermission.OwnerOnly))))
            .SetName("T8_StricterOnNodeA_MemberOnNodeB_RemovedAndReceivesNothingMore");
        yield return new TestCaseData(new Change("delete", RoomPermission.Public, RemovalReasons.Deleted,
            (owner, room) => owner.InvokeAsync(nameof(IRoomHub.DeleteRoom), room))).SetName("T8_DeleteOnNodeA_MemberOnNodeB_RemovedAndReceivesNothingMore");
    }

    [TestCaseSource(nameof(Changes))]
    public async Task AccessChangeOnNodeA_MemberOnNodeB_RemovedAtOnce(Change change)
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(0, "olivia");
        var bob = await ConnectAsync(1, "bob");
        var bobRemoved = new EventRecorder<RemovedFromRoomEvent>(bob, nameof(IRoomClient.RemovedFromRoom));
        var bobMessages = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        var ownerMessages = new EventRecorder<RoomMessage>(owner, nameof(IRoomClient.MessageReceived));
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, change.Permission));
        await owner.InvokeAsync(nameof(IRoomHub.InviteUser), room, "bob");
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await owner.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "before"));
        await bobMessages.WaitAsync(m => m.Sequence == 1);

        await change.Apply(owner, room);
        var removal = await bobRemoved.WaitAsync();
        if (change.Name != "delete")
        {
            await owner.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "after"));
            await ownerMessages.WaitAsync(m => m.Sequence == 2);
        }

        // Bob's node answers a call after the broadcast, so anything sent to bob before it has arrived.
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.NotFound);
        Assert.Multiple(() =>
        {
            Assert.That(removal, Is.EqualTo(new RemovedFromRoomEvent(room, change.Reason)));
            Assert.That(bobMessages.Items.Select(m => m.Sequence), Is.EqualTo(new[] { 1L }), "nothing after the change (T8)");
        });
    }
}
