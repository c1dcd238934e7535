using Hubs.Contracts;
using Hubs.Server.Infrastructure.Redis;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// Each node's cached room views (<c>CachedRoomViews</c>), across two nodes on a real redis-server: a member's
/// repeated calls cost no Redis round trip, and a change made on the other node reaches the view well before it
/// could age out, for settings, member counts and lost access alike.
/// </summary>
public sealed class RoomViewCacheTests : ClusterFixture
{
    /// <summary>Well inside <see cref="CachedRoomViews.MaxAge"/>: what is seen by then came with the change notice.</summary>
    private static readonly TimeSpan NoticeBound = TimeSpan.FromSeconds(2);

    protected override int NodeCount => 2;

    [Test]
    public async Task GetRoom_Repeated_IsServedFromTheNodesViewWithoutRedis()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(0, "oona");
        var member = await ConnectAsync(1, "mika");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await member.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await member.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);

        var before = await Redis.CommandCallsAsync("evalsha", "eval", "get", "hlen", "sismember");
        for (var i = 0; i < 50; i++)
        {
            var info = await member.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);
            Assert.That(info.MemberCount, Is.EqualTo(1));
        }

        var after = await Redis.CommandCallsAsync("evalsha", "eval", "get", "hlen", "sismember");

        // Uncached, each call reads the room and its member count (100 commands); heartbeats run meanwhile.
        Assert.That(after - before, Is.LessThan(25), "50 GetRoom calls reached Redis");
    }

    [Test]
    public async Task SettingsAndMemberCountChangedOnAnotherNode_ReachTheCachedViewAtOnce()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(0, "oona");
        var member = await ConnectAsync(1, "mika");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await member.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        Assert.That((await member.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room)).MemberCount, Is.EqualTo(2));

        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), new UpdateRoomRequest(room, DisplayName: "Renamed"));
        await Await.UntilAsync(async () => (await member.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room)).DisplayName == "Renamed",
            "the new name on the other node", NoticeBound);

        var third = await ConnectAsync(0, "tess");
        await third.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await Await.UntilAsync(async () => (await member.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room)).MemberCount == 3,
            "a join on the other node counted", NoticeBound);

        await third.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
        await Await.UntilAsync(async () => (await member.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room)).MemberCount == 2,
            "a leave on the other node counted", NoticeBound);
    }

    [Test]
    public async Task InviteRevokedOnAnotherNode_TheRemovedMemberSeesNotFoundAtOnce()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(0, "oona");
        var guest = await ConnectAsync(1, "gus");
        var removed = new EventRecorder<RemovedFromRoomEvent>(guest, nameof(IRoomClient.RemovedFromRoom));
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Private));
        await owner.InvokeAsync(nameof(IRoomHub.InviteUser), room, "gus");
        await guest.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await guest.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);

        await owner.InvokeAsync(nameof(IRoomHub.RevokeInvite), room, "gus");
        await removed.WaitAsync(r => r.RoomId == room);

        await HubAssert.RefusedAsync(() => guest.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room), ErrorCodes.NotFound);
    }

    [Test]
    public async Task InvitedOnAnotherNode_JoinsAtOnce_ThoughRefusedAMomentBefore()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(0, "oona");
        var guest = await ConnectAsync(1, "gus");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Private));
        await owner.InvokeAsync(nameof(IRoomHub.InviteUser), room, "olga");

        // Refusals are decided on the room as stored, so a view without the invite can never keep the guest out.
        await HubAssert.RefusedAsync(() => guest.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.NotFound);
        await owner.InvokeAsync(nameof(IRoomHub.InviteUser), room, "gus");
        var joined = await guest.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        Assert.That(joined.Room.RoomId, Is.EqualTo(room));
    }
}
