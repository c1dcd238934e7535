using System.Collections.Concurrent;
using Hubs.Contracts;
using Hubs.Server.Infrastructure.Redis;
using Hubs.Server.Lifecycle;
using Hubs.Server.Rooms;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// T8 under T27: a kick takes the connection out of presence, then out of the room's group on the node that holds it.
/// If that second step is lost on the way (Redis goes away, the node does not acknowledge), the holding node finishes
/// it from the eviction's record: the kicked connection is told once and receives nothing more.
/// </summary>
public sealed class EvictionDeliveryTests : ClusterFixture
{
    /// <summary>Rooms whose next group removal, on whichever node asks for it, fails as if Redis went away.</summary>
    private static readonly ConcurrentDictionary<string, byte> FailNextGroupRemoval = new(StringComparer.Ordinal);

    protected override int NodeCount => 2;

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Decorate<HubLifetimeManager<RoomHub>>(inner => new GroupRemovalLostOnce(inner));

    [Test]
    public async Task Kick_GroupRemovalLostOnTheWay_HoldingNodeCompletesIt_ToldOnceAndReceivesNothingMore()
    {
        var room = NewRoomId();
        var alice = await ConnectAsync(0, "alice");
        var bob = await ConnectAsync(1, "bob");
        var carol = await ConnectAsync(1, "carol");
        var bobRemoved = new EventRecorder<RemovedFromRoomEvent>(bob, nameof(IRoomClient.RemovedFromRoom));
        var bobMessages = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        var carolMessages = new EventRecorder<RoomMessage>(carol, nameof(IRoomClient.MessageReceived));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var connection in new[] { alice, bob, carol })
        {
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        FailNextGroupRemoval[RoomGroups.For(room)] = 0;
        await alice.InvokeAsync(nameof(IRoomHub.KickUser), room, "bob");
        var removal = await bobRemoved.WaitAsync(timeout: TimeSpan.FromSeconds(10));
        var after = await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "after the kick"));
        await carolMessages.WaitAsync(m => m.Sequence == after.Sequence);

        // Carol is on bob's node: her copy and bob's would have gone out together. A completed call on bob's
        // connection proves it has processed everything sent to it before.
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "still here?")),
            ErrorCodes.NotFound);
        var bobNode = Nodes[1].Services.GetRequiredService<NodeIdentity>().Id;
        await Await.UntilAsync(async () => (await Redis.SetMembersAsync($"hubs:node:{{{bobNode}}}:evictions")).Count == 0, "the eviction's record is done with");

        Assert.Multiple(() =>
        {
            Assert.That(removal, Is.EqualTo(new RemovedFromRoomEvent(room, RemovalReasons.Kicked)));
            Assert.That(bobRemoved.Items, Has.Count.EqualTo(1), "told once");
            Assert.That(bobMessages.Items.Select(m => m.Text), Has.None.EqualTo("after the kick"), "out of the room's group");
        });
    }

    [Test]
    public async Task Kick_Delivered_RecordDoneWithAndToldOnce()
    {
        var room = NewRoomId();
        var alice = await ConnectAsync(0, "alice");
        var bob = await ConnectAsync(1, "bob");
        var bobRemoved = new EventRecorder<RemovedFromRoomEvent>(bob, nameof(IRoomClient.RemovedFromRoom));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        await alice.InvokeAsync(nameof(IRoomHub.KickUser), room, "bob");
        await bobRemoved.WaitAsync();
        var bobNode = Nodes[1].Services.GetRequiredService<NodeIdentity>().Id;
        var pending = (await Redis.SetMembersAsync($"hubs:node:{{{bobNode}}}:evictions")).Count;

        // Two liveness rounds of bob's node (a record is completed when seen twice) pass with nothing to complete.
        var liveness = Nodes[1].Services.GetRequiredService<NodeLiveness>();
        var rounds = liveness.Rounds;
        await Await.UntilAsync(() => liveness.Rounds >= rounds + 2, "two liveness rounds of bob's node");
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "still here?")),
            ErrorCodes.NotFound);

        Assert.Multiple(() =>
        {
            Assert.That(pending, Is.Zero, "the evicting node delivered it and dropped its record");
            Assert.That(bobRemoved.Items, Has.Count.EqualTo(1), "told once, not again by the holding node");
        });
    }

    private sealed class GroupRemovalLostOnce(HubLifetimeManager<RoomHub> inner) : DelegatingHubLifetimeManager<RoomHub>(inner)
    {
        public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
            FailNextGroupRemoval.TryRemove(groupName, out _)
                ? Task.FromException(new RedisConnectionException(ConnectionFailureType.SocketFailure, "injected: Redis went away"))
                : base.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
    }
}
