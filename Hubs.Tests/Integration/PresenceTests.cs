using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace Hubs.Tests.Integration;

/// <summary>Presence events exactly once per user; typing throttled; status changes reach the room.</summary>
public sealed class PresenceTests : ServerFixture
{

    // Server time only moves when a test moves it, so the typing throttle is judged without wall-clock races.
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_time));


    [Test]
    public async Task TwoConnectionsOfOneUser_JoinAndLeave_OneUserJoinedAndOneUserLeft()
    {
        var (room, alice) = await RoomWithOwnerAsync();
        var joinedEvents = new EventRecorder<UserPresenceEvent>(alice, nameof(IRoomClient.UserJoined));
        var leftEvents = new EventRecorder<UserPresenceEvent>(alice, nameof(IRoomClient.UserLeft));
        var bobPhone = await Connect("bob", "Bob");
        var bobLaptop = await Connect("bob", "Bob");

        await bobPhone.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bobLaptop.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bobPhone.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
        var stillThere = await alice.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        Assert.That(leftEvents.Items, Is.Empty, "bob still has a connection in the room");

        // The last connection goes by disconnecting, not by leaving.
        await bobLaptop.StopAsync();
        await leftEvents.WaitAsync(e => e.UserId == "bob");
        await SyncAsync(alice, room);

        Assert.Multiple(() =>
        {
            Assert.That(stillThere.Select(m => m.UserId), Is.EquivalentTo(new[] { "alice", "bob" }));
            Assert.That(joinedEvents.Items.Where(e => e.UserId == "bob"), Is.EqualTo(new[] { new UserPresenceEvent(room, "bob", "Bob") }));
            Assert.That(leftEvents.Items, Is.EqualTo(new[] { new UserPresenceEvent(room, "bob", "Bob") }));
        });
    }

    [Test]
    public async Task Typing_Burst_ForwardedOnceToOthersAndNeverToTheTypist()
    {
        var (room, alice) = await RoomWithOwnerAsync();
        var aliceTyping = new EventRecorder<UserTypingEvent>(alice, nameof(IRoomClient.UserTyping));
        var bob = await Connect("bob");
        var bobOther = await Connect("bob");
        var bobTyping = new EventRecorder<UserTypingEvent>(bob, nameof(IRoomClient.UserTyping));
        var bobOtherTyping = new EventRecorder<UserTypingEvent>(bobOther, nameof(IRoomClient.UserTyping));
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bobOther.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        for (var i = 0; i < 10; i++)
        {
            await bob.InvokeAsync(nameof(IRoomHub.Typing), room);
            _time.Advance(TimeSpan.FromMilliseconds(50));
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        await bobOther.InvokeAsync(nameof(IRoomHub.Typing), room);
        await aliceTyping.WaitAsync(_ => aliceTyping.Items.Count == 2);
        await SyncAsync(alice, room);
        await SyncAsync(bobOther, room);
        Assert.Multiple(() =>
        {
            // Ten calls within half a second: one forwarded; a second later the next one passes again.
            Assert.That(aliceTyping.Items, Is.EqualTo(new[] { new UserTypingEvent(room, "bob"), new UserTypingEvent(room, "bob") }));
            Assert.That(bobTyping.Items, Is.Empty);
            Assert.That(bobOtherTyping.Items, Is.Empty, "the typist's other connections are the typist too");
        });
    }

    [Test]
    public async Task SetStatus_Away_PresenceChangedInEveryRoomAndMembersShowIt()
    {
        var (room, alice) = await RoomWithOwnerAsync();
        var (otherRoom, carol) = await RoomWithOwnerAsync("carol");
        var aliceEvents = new EventRecorder<PresenceChangedEvent>(alice, nameof(IRoomClient.PresenceChanged));
        var carolEvents = new EventRecorder<PresenceChangedEvent>(carol, nameof(IRoomClient.PresenceChanged));
        var bob = await Connect("bob");
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), otherRoom);

        await bob.InvokeAsync(nameof(IRoomHub.SetStatus), PresenceStatus.Away);

        Assert.That(await aliceEvents.WaitAsync(), Is.EqualTo(new PresenceChangedEvent(room, "bob", PresenceStatus.Away)));
        Assert.That(await carolEvents.WaitAsync(), Is.EqualTo(new PresenceChangedEvent(otherRoom, "bob", PresenceStatus.Away)));
        var members = await alice.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        Assert.That(members.Single(m => m.UserId == "bob").Status, Is.EqualTo(PresenceStatus.Away));
    }

    [Test]
    public async Task ConcurrentJoinLeaveStorm_EndsWithExactMembershipAndBalancedEvents()
    {
        var (room, alice) = await RoomWithOwnerAsync();
        var joinedEvents = new EventRecorder<UserPresenceEvent>(alice, nameof(IRoomClient.UserJoined));
        var leftEvents = new EventRecorder<UserPresenceEvent>(alice, nameof(IRoomClient.UserLeft));
        var users = Enumerable.Range(0, 6).Select(i => $"user{i}").ToArray();
        var connections = new List<HubConnection>();
        foreach (var user in users)
        {
            connections.Add(await Connect(user));
            connections.Add(await Connect(user));
        }

        await Task.WhenAll(connections.Select(async c =>
        {
            for (var i = 0; i < 5; i++)
            {
                await c.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
                await c.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
            }

            await c.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }));
        await Task.WhenAll(connections.Where((_, i) => i % 2 == 0).Select(c => c.StopAsync()));
        await SyncAsync(alice, room);

        var members = await alice.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        Assert.That(members.Select(m => m.UserId), Is.EquivalentTo(users.Append("alice")));
        foreach (var user in users)
        {
            var joins = joinedEvents.Items.Count(e => e.UserId == user);
            var leaves = leftEvents.Items.Count(e => e.UserId == user);
            Assert.That(joins - leaves, Is.EqualTo(1), $"{user} is present: one more join than leaves announced");
        }
    }

    private async Task<(string Room, HubConnection Owner)> RoomWithOwnerAsync(string owner = "alice")
    {
        var room = NewRoomId("presence");
        var connection = await Connect(owner, owner);
        await connection.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        return (room, connection);
    }

    /// <summary>A round trip on the connection: events sent to it before have been received once this returns.</summary>
    private static Task SyncAsync(HubConnection connection, string room) =>
        connection.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);

    private Task<HubConnection> Connect(string userId, string? name = null) => ConnectAsync(userId, name);
}
