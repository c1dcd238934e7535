using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration;

/// <summary>T8: permission changes act on joined connections at once.</summary>
public sealed class AccessChangeTests : ServerFixture
{


    public sealed record Change(string Name, RoomPermission Permission, string ExpectedReason, Func<HubConnection, string, Task> Apply)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<TestCaseData> Changes()
    {
        yield return new TestCaseData(new Change("revoke", RoomPermission.Private, RemovalReasons.Revoked,
            (owner, room) => owner.InvokeAsync(nameof(IRoomHub.RevokeInvite), room, "bob"))).SetName("T8_RevokeInvite_JoinedMember_RemovedAndReceivesNothingMore");
        yield return new TestCaseData(new Change("kick", RoomPermission.Public, RemovalReasons.Kicked,
            (owner, room) => owner.InvokeAsync(nameof(IRoomHub.KickUser), room, "bob"))).SetName("T8_KickUser_JoinedMember_RemovedAndReceivesNothingMore");
        yield return new TestCaseData(new Change("stricter", RoomPermission.Public, RemovalReasons.Revoked,
            (owner, room) => owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), new UpdateRoomRequest(room, Permission: RoomPermission.Restricted, AllowedRoles: ["staff"]))))
            .SetName("T8_UpdateRoom_StricterPermission_MemberWithoutRoleRemovedAndReceivesNothingMore");
    }

    [TestCaseSource(nameof(Changes))]
    public async Task AccessChange_JoinedMember_RemovedAtOnceOthersUnaffected(Change change)
    {
        var room = NewRoomId();
        var alice = await Connect("alice");
        var bob = await Connect("bob");
        var carol = await Connect("carol", roles: ["staff"]);
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, change.Permission));
        await alice.InvokeAsync(nameof(IRoomHub.InviteUser), room, "bob");
        await alice.InvokeAsync(nameof(IRoomHub.InviteUser), room, "carol");
        var bobRemoved = new EventRecorder<RemovedFromRoomEvent>(bob, nameof(IRoomClient.RemovedFromRoom));
        var bobMessages = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        var carolMessages = new EventRecorder<RoomMessage>(carol, nameof(IRoomClient.MessageReceived));
        var carolLeft = new EventRecorder<UserPresenceEvent>(carol, nameof(IRoomClient.UserLeft));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await carol.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "before"));
        await bobMessages.WaitAsync(m => m.Sequence == 1);

        await change.Apply(alice, room);
        var removal = await bobRemoved.WaitAsync();
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "after"));
        await carolMessages.WaitAsync(m => m.Sequence == 2);
        await carolLeft.WaitAsync(e => e.UserId == "bob");
        // A completed call on bob's connection proves it has processed everything sent to it before.
        var send = await HubAssert.RefusedAsync(() => bob.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "still here?")),
            ErrorCodes.NotFound);
        var rejoin = await HubAssert.RefusedAsync(() => bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.NotFound);

        Assert.Multiple(() =>
        {
            Assert.That(removal, Is.EqualTo(new RemovedFromRoomEvent(room, change.ExpectedReason)));
            Assert.That(bobMessages.Items.Select(m => m.Sequence), Is.EqualTo(new[] { 1L }), "nothing after the change");
            Assert.That(bobRemoved.Items, Has.Count.EqualTo(1));
            Assert.That(send, Does.StartWith("not_found"));
            Assert.That(rejoin, Does.StartWith("not_found"));
        });
    }

    [Test]
    public async Task KickUser_ThenInviteAgain_KickLiftedAndRejoinWorks()
    {
        var room = NewRoomId();
        var alice = await Connect("alice");
        var bob = await Connect("bob");
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await alice.InvokeAsync(nameof(IRoomHub.KickUser), room, "bob");
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.NotFound);

        await alice.InvokeAsync(nameof(IRoomHub.InviteUser), room, "bob");
        var joined = await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        Assert.That(joined.Members.Select(m => m.UserId), Does.Contain("bob"));
    }

    [Test]
    public async Task T8_DeleteRoom_JoinedMembers_RemovedWithDeletedAndRoomGone()
    {
        var room = NewRoomId();
        var alice = await Connect("alice");
        var bob = await Connect("bob");
        var bobRemoved = new EventRecorder<RemovedFromRoomEvent>(bob, nameof(IRoomClient.RemovedFromRoom));
        var aliceRemoved = new EventRecorder<RemovedFromRoomEvent>(alice, nameof(IRoomClient.RemovedFromRoom));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "old"));

        await alice.InvokeAsync(nameof(IRoomHub.DeleteRoom), room);

        Assert.That(await bobRemoved.WaitAsync(), Is.EqualTo(new RemovedFromRoomEvent(room, RemovalReasons.Deleted)));
        Assert.That(await aliceRemoved.WaitAsync(), Is.EqualTo(new RemovedFromRoomEvent(room, RemovalReasons.Deleted)));
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room), ErrorCodes.NotFound);

        // A new room under the same id starts a fresh history.
        await bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        var rejoined = await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        Assert.That(rejoined.LastSequence, Is.EqualTo(0));
    }

    private Task<HubConnection> Connect(string userId, IReadOnlyList<string>? roles = null) => ConnectAsync(userId, roles: roles);
}
