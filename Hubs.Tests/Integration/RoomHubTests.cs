using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration;

/// <summary>Every hub method's success path and refusals, over real WebSockets against the real server.</summary>
public sealed class RoomHubTests : ServerFixture
{

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Hubs:History:MaxMessagesPerRoom"] = "20",
    };


    [Test]
    public async Task CreateJoinSend_TwoUsers_BothReceiveInOrderWithSenderFromToken()
    {
        var room = NewRoomId();
        var alice = await Connect("alice", "Alice");
        var bob = await Connect("bob", "Bob");
        var aliceMessages = new EventRecorder<RoomMessage>(alice, nameof(IRoomClient.MessageReceived));
        var bobMessages = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));

        var created = await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public, "Lobby"));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var joined = await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var first = await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "hello", "c1"));
        var second = await bob.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "hi alice"));

        await bobMessages.WaitAsync(m => m.Sequence == 2);
        await aliceMessages.WaitAsync(m => m.Sequence == 2);
        Assert.Multiple(() =>
        {
            Assert.That(created.OwnerId, Is.EqualTo("alice"));
            Assert.That(created.Permission, Is.EqualTo(RoomPermission.Public));
            Assert.That(joined.Members.Select(m => m.UserId), Is.EquivalentTo(new[] { "alice", "bob" }));
            Assert.That(joined.LastSequence, Is.EqualTo(0));
            Assert.That(joined.Room.MemberCount, Is.EqualTo(2));
            Assert.That((first.Sequence, second.Sequence), Is.EqualTo((1L, 2L)));
            Assert.That(bobMessages.Items.Select(m => (m.Sequence, m.SenderId, m.SenderName, m.Text)),
                Is.EqualTo(new[] { (1L, "alice", "Alice", "hello"), (2L, "bob", "Bob", "hi alice") }));
            Assert.That(bobMessages.Items[0].ClientMessageId, Is.EqualTo("c1"));
            Assert.That(aliceMessages.Items.Select(m => m.Sequence), Is.EqualTo(new[] { 1L, 2L }));
        });
    }

    [Test]
    public async Task T6_SendMessage_PayloadClaimsAnotherSender_SenderIdIsStillTokenSub()
    {
        var (room, _) = await CreatePublicRoomAsync("alice");
        var mallory = await Connect("mallory");
        var watcher = await Connect("walter");
        var received = new EventRecorder<RoomMessage>(watcher, nameof(IRoomClient.MessageReceived));
        await mallory.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        // Extra members on the wire are ignored: identity comes only from the token (T6).
        await mallory.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage),
            new { roomId = room, text = "I am alice", senderId = "alice", senderName = "Alice" });

        var message = await received.WaitAsync();
        Assert.That((message.SenderId, message.SenderName), Is.EqualTo(("mallory", "mallory")));
    }

    [Test]
    public async Task T16_SameUserTwiceAndAnotherUserWithItsId_NoConnectionDisplacesAnother()
    {
        var aliceOne = Track(Server.Connection(TestTokens.For("alice"), skipNegotiation: false));
        await aliceOne.StartAsync();
        var aliceTwo = await Connect("alice");
        var bob = await Connect("bob");

        // Mallory presents alice's connection id as her own: there is no client-chosen id that selects a connection.
        var hijack = Track(new HubConnectionBuilder()
            .WithUrl(new Uri(Server.HubUrl, $"?id={aliceOne.ConnectionId}"), o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For("mallory"));
                o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
            })
            .Build());
        try
        {
            await hijack.StartAsync();
        }
        catch (Exception error) when (error is HttpRequestException or System.Net.WebSockets.WebSocketException)
        {
            // Refused outright is as good as ignored.
        }

        foreach (var connection in new[] { aliceOne, aliceTwo, bob })
        {
            Assert.That(connection.State, Is.EqualTo(HubConnectionState.Connected));
            Assert.That(await connection.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms)), Is.Not.Null);
        }
    }

    [Test]
    public async Task OwnerActions_FullCycle_EachMethodSucceeds()
    {
        var room = NewRoomId();
        var alice = await Connect("alice");
        var bob = await Connect("bob");
        var roomUpdates = new EventRecorder<RoomInfo>(bob, nameof(IRoomClient.RoomUpdated));
        var presence = new EventRecorder<PresenceChangedEvent>(alice, nameof(IRoomClient.PresenceChanged));

        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Private, MaxMembers: 5));
        await alice.InvokeAsync(nameof(IRoomHub.InviteUser), room, "bob");
        var invites = await alice.InvokeAsync<IReadOnlyList<string>>(nameof(IRoomHub.GetInvites), room);
        var bobSees = await bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);
        var bobList = await bob.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var again = await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var updated = await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), new UpdateRoomRequest(room, DisplayName: "Renamed"));
        await roomUpdates.WaitAsync(r => r.DisplayName == "Renamed");
        await bob.InvokeAsync(nameof(IRoomHub.SetStatus), PresenceStatus.Away);
        await presence.WaitAsync(p => p.UserId == "bob" && p.Status == PresenceStatus.Away);
        var members = await alice.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        await bob.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
        var afterLeave = await alice.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        await alice.InvokeAsync(nameof(IRoomHub.DeleteRoom), room);
        var gone = await HubAssert.RefusedAsync(() => alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room), ErrorCodes.NotFound);

        Assert.Multiple(() =>
        {
            Assert.That(invites, Is.EqualTo(new[] { "bob" }));
            Assert.That(bobSees.RoomId, Is.EqualTo(room));
            Assert.That(bobList.Select(r => r.RoomId), Does.Contain(room));
            Assert.That(again.Members, Has.Count.EqualTo(2), "join is idempotent per connection");
            Assert.That(updated.DisplayName, Is.EqualTo("Renamed"));
            Assert.That(members.Single(m => m.UserId == "bob").Status, Is.EqualTo(PresenceStatus.Away));
            Assert.That(afterLeave.Select(m => m.UserId), Is.EqualTo(new[] { "alice" }));
            Assert.That(gone, Does.StartWith("not_found"));
        });
    }

    [Test]
    public async Task GetHistory_AfterSequenceAndLimit_AnswersAscendingPageAndKeepsOnlyConfiguredWindow()
    {
        var (room, alice) = await CreatePublicRoomAsync("alice");
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        for (var i = 1; i <= 25; i++)
        {
            await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"m{i}"));
        }

        var page = await alice.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room, AfterSequence: 10, Limit: 3));
        var newest = await alice.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room, Limit: 2));
        var all = await alice.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room, AfterSequence: 0));
        var rejoin = await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        Assert.Multiple(() =>
        {
            Assert.That(page.Select(m => m.Sequence), Is.EqualTo(new[] { 11L, 12L, 13L }));
            Assert.That(newest.Select(m => m.Sequence), Is.EqualTo(new[] { 24L, 25L }));
            Assert.That(all.Select(m => m.Sequence), Is.EqualTo(Enumerable.Range(6, 20).Select(i => (long)i)), "only the last 20 are kept");
            Assert.That(rejoin.LastSequence, Is.EqualTo(25));
        });
    }

    [Test]
    public async Task T9_NotFound_PrivateRoomAndMissingRoom_AnswerByteIdenticalApartFromRef()
    {
        var owner = await Connect("olivia");
        var privateRoom = NewRoomId();
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(privateRoom, RoomPermission.Private));
        var missing = NewRoomId();
        var mallory = await Connect("mallory");

        var pairs = new (string Method, Func<string, Task> Call)[]
        {
            (nameof(IRoomHub.JoinRoom), id => mallory.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), id)),
            (nameof(IRoomHub.GetRoom), id => mallory.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), id)),
            (nameof(IRoomHub.SendMessage), id => mallory.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(id, "x"))),
            (nameof(IRoomHub.GetHistory), id => mallory.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(id))),
            (nameof(IRoomHub.KickUser), id => mallory.InvokeAsync(nameof(IRoomHub.KickUser), id, "olivia")),
        };
        foreach (var (method, call) in pairs)
        {
            var denied = await HubAssert.RefusedAsync(() => call(privateRoom), ErrorCodes.NotFound);
            var absent = await HubAssert.RefusedAsync(() => call(missing), ErrorCodes.NotFound);
            Assert.That(HubAssert.WithoutRef(denied), Is.EqualTo(HubAssert.WithoutRef(absent)), method);
        }

        var list = await mallory.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
        Assert.That(list.Select(r => r.RoomId), Does.Not.Contain(privateRoom));
    }

    [Test]
    public async Task MemberWithoutOwnership_OwnerActions_AnswerForbidden()
    {
        var (room, _) = await CreatePublicRoomAsync("alice");
        var bob = await Connect("bob");
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        await HubAssert.RefusedAsync(() => bob.InvokeAsync(nameof(IRoomHub.KickUser), room, "alice"), ErrorCodes.Forbidden);
        await HubAssert.RefusedAsync(() => bob.InvokeAsync(nameof(IRoomHub.DeleteRoom), room), ErrorCodes.Forbidden);
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), new UpdateRoomRequest(room, Permission: RoomPermission.OwnerOnly)), ErrorCodes.Forbidden);
        await HubAssert.RefusedAsync(() => bob.InvokeAsync(nameof(IRoomHub.InviteUser), room, "bob"), ErrorCodes.Forbidden);
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<IReadOnlyList<string>>(nameof(IRoomHub.GetInvites), room), ErrorCodes.Forbidden);
        var info = await bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);
        Assert.That(info.Permission, Is.EqualTo(RoomPermission.Public), "nothing changed");
    }

    [Test]
    public async Task T7_NotJoined_SendAndReads_AnswerForbiddenAndNonMembersReceiveNothing()
    {
        var (room, alice) = await CreatePublicRoomAsync("alice");
        var outsider = await Connect("carol");
        var outsiderMessages = new EventRecorder<RoomMessage>(outsider, nameof(IRoomClient.MessageReceived));
        var aliceMessages = new EventRecorder<RoomMessage>(alice, nameof(IRoomClient.MessageReceived));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        await HubAssert.RefusedAsync(() => outsider.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "x")), ErrorCodes.Forbidden);
        await HubAssert.RefusedAsync(() => outsider.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room), ErrorCodes.Forbidden);
        await HubAssert.RefusedAsync(() => outsider.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room)), ErrorCodes.Forbidden);
        await HubAssert.RefusedAsync(() => outsider.InvokeAsync(nameof(IRoomHub.Typing), room), ErrorCodes.Forbidden);
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "members only"));
        await aliceMessages.WaitAsync();

        // A call answered after the broadcast proves the outsider's connection has processed everything sent before.
        await outsider.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
        Assert.That(outsiderMessages.Items, Is.Empty);
    }

    [Test]
    public async Task JoinRoom_MaxMembersReached_AnswersRoomFull()
    {
        var room = NewRoomId();
        var alice = await Connect("alice");
        var bob = await Connect("bob");
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public, MaxMembers: 1));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        await HubAssert.RefusedAsync(() => bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.RoomFull);
        var members = await alice.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        Assert.That(members.Select(m => m.UserId), Is.EqualTo(new[] { "alice" }));
    }

    [Test]
    public async Task CreateRoom_TakenId_AnswersConflict()
    {
        var (room, _) = await CreatePublicRoomAsync("alice");
        var bob = await Connect("bob");

        await HubAssert.RefusedAsync(() => bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public)), ErrorCodes.Conflict);
        var info = await bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);
        Assert.That(info.OwnerId, Is.EqualTo("alice"));
    }

    [Test]
    public async Task JoinRoom_RestrictedWithRoleAsStringOrArray_Admitted()
    {
        var room = NewRoomId();
        var owner = await Connect("olivia");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Restricted, AllowedRoles: ["staff"]));
        var single = Track(Server.Connection(TestTokens.For("sam", roles: ["staff"], rolesAsArray: false)));
        var multiple = Track(Server.Connection(TestTokens.For("max", roles: ["guest", "staff"])));
        var guest = await Connect("gus", roles: ["guest"]);
        await single.StartAsync();
        await multiple.StartAsync();

        await single.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await multiple.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await HubAssert.RefusedAsync(() => guest.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.NotFound);
    }

    private async Task<(string Room, HubConnection Owner)> CreatePublicRoomAsync(string owner)
    {
        var room = NewRoomId();
        var connection = await Connect(owner);
        await connection.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        return (room, connection);
    }

    private Task<HubConnection> Connect(string userId, string? name = null, IReadOnlyList<string>? roles = null) => ConnectAsync(userId, name, roles);
}
