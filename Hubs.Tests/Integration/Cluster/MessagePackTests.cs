using Hubs.Client;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// The MessagePack hub protocol end to end with <see cref="HubsClient"/>: every kind of result, event and refusal,
/// and a room shared by MessagePack and JSON clients on different nodes of the Redis backplane.
/// </summary>
public sealed class MessagePackTests : ClusterFixture
{
    private TestClients _clients = null!;

    protected override int NodeCount => 2;

    [SetUp]
    public void NewClients() => _clients = new TestClients();

    [TearDown]
    public async Task DisposeClients() => await _clients.DisposeAsync();

    [Test]
    public async Task MessagePackAndJsonClientsOnTwoNodes_ShareARoom_ResultsEventsAndRefusalsIntact()
    {
        var room = NewRoomId();
        var packed = await StartAsync(0, "mia", messagePack: true);
        var plain = await StartAsync(1, "jon", messagePack: false);
        var packedMessages = new EventRecorder<RoomMessage>();
        var plainMessages = new EventRecorder<RoomMessage>();
        var packedJoins = new EventRecorder<UserPresenceEvent>();
        var packedUpdates = new EventRecorder<RoomInfo>();
        using var a = packed.OnMessageReceived(packedMessages.Add);
        using var b = plain.OnMessageReceived(plainMessages.Add);
        using var c = packed.OnUserJoined(packedJoins.Add);
        using var d = packed.OnRoomUpdated(packedUpdates.Add);

        var created = await packed.CreateRoom(new CreateRoomRequest(room, RoomPermission.Restricted, "Packed", ["staff", "ops"], 50));
        await packed.UpdateRoom(new UpdateRoomRequest(room, Permission: RoomPermission.Public));
        var joined = await packed.JoinRoom(room);
        await plain.JoinRoom(room);
        var sent = await packed.SendMessage(new SendMessageRequest(room, "über binary ✓", "pack-1"));
        var reply = await plain.SendMessage(new SendMessageRequest(room, "plain reply"));
        var received = await plainMessages.WaitAsync(m => m.Sequence == sent.Sequence);
        await packedMessages.WaitAsync(m => m.Sequence == reply.Sequence);
        var history = await packed.GetHistory(new GetHistoryRequest(room, AfterSequence: 0, Limit: 10));
        var members = await packed.GetMembers(room);
        var rooms = await packed.ListRooms();
        await packedJoins.WaitAsync(e => e.UserId == "jon");
        var refusal = Assert.ThrowsAsync<HubsException>(() => packed.GetRoom("no-such-room"))!;
        var invalid = Assert.ThrowsAsync<HubsException>(() => packed.GetHistory(new GetHistoryRequest(room, Limit: 500)))!;

        Assert.Multiple(() =>
        {
            Assert.That((created.Permission, created.AllowedRoles, created.MaxMembers), Is.EqualTo((RoomPermission.Restricted, (IReadOnlyList<string>)["staff", "ops"], 50)));
            Assert.That(created.CreatedAt, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
            Assert.That(joined.Room.Permission, Is.EqualTo(RoomPermission.Public));
            Assert.That(received, Is.EqualTo(new RoomMessage(room, sent.Sequence, "mia", "mia", "über binary ✓", sent.SentAt, "pack-1")), "a MessagePack send reaches a JSON client on the other node intact");
            Assert.That(packedMessages.Items.Select(m => m.Text), Is.EqualTo(new[] { "über binary ✓", "plain reply" }));
            Assert.That(history.Select(m => m.Sequence), Is.EqualTo(new[] { 1L, 2L }));
            Assert.That(members.Select(m => m.UserId).Order(), Is.EqualTo(new[] { "jon", "mia" }));
            Assert.That(rooms.Select(r => r.RoomId), Does.Contain(room));
            Assert.That(packedUpdates.Items, Is.Empty.Or.All.Matches<RoomInfo>(r => r.RoomId == room));
            Assert.That(refusal.Code, Is.EqualTo(ErrorCodes.NotFound));
            Assert.That(refusal.RefId, Does.Match("^[0-9a-f]{12}$"));
            Assert.That(refusal.Message, Does.StartWith("not_found: "));
            Assert.That(invalid.Code, Is.EqualTo(ErrorCodes.InvalidArgument));
        });
    }

    [Test]
    public async Task MessagePackClient_NodeDrained_MovesToTheNextNodeRejoinsAndRecoversEverything()
    {
        var room = NewRoomId();
        var extra = await HubsTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = Redis.Configuration,
            ["Hubs:Presence:TimeoutSeconds"] = PresenceTimeoutSeconds.ToString(),
        });
        var sender = await StartAsync(1, "sal", messagePack: true);
        var receiver = _clients.New([extra.HubUrl, Nodes[0].HubUrl], TestClients.TokensFor("rae"), messagePack: true);
        await receiver.StartAsync();
        var received = new EventRecorder<RoomMessage>();
        using var onMessage = receiver.OnMessageReceived(received.Add);
        await sender.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await sender.JoinRoom(room);
        await receiver.JoinRoom(room);
        for (var i = 1; i <= 5; i++)
        {
            await sender.SendMessage(new SendMessageRequest(room, $"m{i}"));
        }

        await received.WaitAsync(m => m.Sequence == 5);
        var draining = extra.DisposeAsync().AsTask();
        for (var i = 6; i <= 15; i++)
        {
            await sender.SendMessage(new SendMessageRequest(room, $"m{i}"));
        }

        await draining.Within(TimeSpan.FromSeconds(15));
        await received.WaitAsync(m => m.Sequence == 15, TimeSpan.FromSeconds(15));

        Assert.Multiple(() =>
        {
            Assert.That(received.Items.Select(m => m.Sequence), Is.EqualTo(Enumerable.Range(1, 15).Select(i => (long)i)));
            Assert.That(receiver.ConnectedUrl, Is.EqualTo(Nodes[0].HubUrl));
            Assert.That(receiver.JoinedRooms, Is.EqualTo(new[] { room }));
        });
    }

    private async Task<HubsClient> StartAsync(int node, string userId, bool messagePack)
    {
        var client = _clients.New([Nodes[node].HubUrl], TestClients.TokensFor(userId), messagePack: messagePack);
        await client.StartAsync();
        return client;
    }
}
