using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Presence;

namespace Hubs.Tests.Unit.Presence;

public sealed class InMemoryPresenceTrackerTests
{
    private static readonly HubsUser Alice = new("alice", "Alice", [], null);
    private static readonly HubsUser Bob = new("bob", "Bob", [], null);
    private InMemoryPresenceTracker _tracker = null!;

    // NUnit keeps one fixture instance for all its tests: each test gets a fresh tracker.
    [SetUp]
    public void CreateTracker() => _tracker = new InMemoryPresenceTracker();

    [Test]
    public async Task JoinAndLeave_TwoConnectionsOfOneUser_FirstAndLastReportedOnce()
    {
        await _tracker.ConnectAsync("c1", Alice, 10, default);
        await _tracker.ConnectAsync("c2", Alice, 10, default);

        var first = await _tracker.JoinAsync("r", "c1", Alice, 10, 100, default);
        var second = await _tracker.JoinAsync("r", "c2", Alice, 10, 100, default);
        var again = await _tracker.JoinAsync("r", "c2", Alice, 10, 100, default);
        var leaveOne = await _tracker.LeaveAsync("r", "c1", default);
        var leaveTwo = await _tracker.LeaveAsync("r", "c2", default);
        var leaveTwice = await _tracker.LeaveAsync("r", "c2", default);

        Assert.Multiple(() =>
        {
            Assert.That((first.Status, first.FirstOfUser), Is.EqualTo((JoinStatus.Joined, true)));
            Assert.That((second.Status, second.FirstOfUser), Is.EqualTo((JoinStatus.Joined, false)));
            Assert.That(again.Status, Is.EqualTo(JoinStatus.AlreadyJoined));
            Assert.That((leaveOne.Removed, leaveOne.LastOfUser), Is.EqualTo((true, false)));
            Assert.That((leaveTwo.Removed, leaveTwo.LastOfUser), Is.EqualTo((true, true)));
            Assert.That(leaveTwice.Removed, Is.False);
        });
    }

    [Test]
    public async Task Join_RoomAtMaxMembers_NewUserRefusedExistingUserAdmitted()
    {
        await _tracker.ConnectAsync("a1", Alice, 10, default);
        await _tracker.ConnectAsync("a2", Alice, 10, default);
        await _tracker.ConnectAsync("b1", Bob, 10, default);
        await _tracker.JoinAsync("r", "a1", Alice, 1, 100, default);

        Assert.That((await _tracker.JoinAsync("r", "b1", Bob, 1, 100, default)).Status, Is.EqualTo(JoinStatus.RoomFull));
        Assert.That((await _tracker.JoinAsync("r", "a2", Alice, 1, 100, default)).Status, Is.EqualTo(JoinStatus.Joined));
        Assert.That((await _tracker.GetSizeAsync("r", default)).Members, Is.EqualTo(1));
    }

    [Test]
    public async Task Connect_UserAtCap_RefusedUntilOneDisconnects()
    {
        Assert.That(await _tracker.ConnectAsync("c1", Alice, 2, default), Is.True);
        Assert.That(await _tracker.ConnectAsync("c2", Alice, 2, default), Is.True);
        Assert.That(await _tracker.ConnectAsync("c3", Alice, 2, default), Is.False);
        Assert.That(await _tracker.ConnectAsync("b1", Bob, 2, default), Is.True, "the cap is per user");

        await _tracker.DisconnectAsync("c1", "alice", default);

        Assert.That(await _tracker.ConnectAsync("c3", Alice, 2, default), Is.True);
    }

    [Test]
    public async Task SetStatus_UserInRooms_ReturnsRoomsAndMembersShowStatus()
    {
        await _tracker.ConnectAsync("c1", Alice, 10, default);
        await _tracker.JoinAsync("r1", "c1", Alice, 10, 100, default);
        await _tracker.JoinAsync("r2", "c1", Alice, 10, 100, default);

        var rooms = await _tracker.SetStatusAsync("alice", PresenceStatus.Away, default);

        Assert.That(rooms.EventRooms, Is.EquivalentTo(new[] { "r1", "r2" }));
        Assert.That((await _tracker.GetMembersAsync("r1", default)).Single().Status, Is.EqualTo(PresenceStatus.Away));
    }

    [Test]
    public async Task T15_ManyCycles_ConnectJoinLeaveDisconnect_NothingLeftBehind()
    {
        for (var i = 0; i < 10_000; i++)
        {
            var connection = $"c{i}";
            var user = i % 2 == 0 ? Alice : Bob;
            await _tracker.ConnectAsync(connection, user, 10, default);
            await _tracker.JoinAsync($"room{i % 7}", connection, user, 100, 100, default);
            foreach (var room in await _tracker.GetRoomsAsync(connection, default))
            {
                await _tracker.LeaveAsync(room, connection, default);
            }

            await _tracker.DisconnectAsync(connection, user.UserId, default);
        }

        Assert.That(_tracker.EntryCount, Is.EqualTo(0), "rooms, connections and users maps are back to empty (T15, T22)");
    }
}
