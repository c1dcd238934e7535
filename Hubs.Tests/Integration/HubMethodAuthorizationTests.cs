using System.Reflection;
using Hubs.Contracts;
using Hubs.Server.Rooms;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration;

/// <summary>T5 over the wire: every hub method, found by reflection, is refused to a caller without the right.</summary>
public sealed class HubMethodAuthorizationTests : ServerFixture
{
    private static readonly string[] AuthenticationOnly = [nameof(IRoomHub.CreateRoom), nameof(IRoomHub.ListRooms), nameof(IRoomHub.SetStatus)];

    private static IEnumerable<TestCaseData> Methods() =>
        typeof(IRoomHub).GetMethods().Select(m => new TestCaseData(m.Name).SetName($"T5_{m.Name}_CallerWithoutRight_Refused"));

    [TestCaseSource(nameof(Methods))]
    public async Task Method_CallerWithoutRight_Refused(string methodName)
    {
        var action = typeof(RoomHub).GetMethod(methodName)!.GetCustomAttribute<RoomActionAttribute>()!.Action;
        var owner = await ConnectAsync("olivia");
        var stranger = await ConnectAsync("mallory");
        var privateRoom = NewRoomId("private");
        var publicRoom = NewRoomId("public");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(privateRoom, RoomPermission.Private));
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(publicRoom, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), publicRoom);

        if (action == RoomAction.None)
        {
            // Room-free methods need only authentication (covered for every method by the filter tests); none of
            // them may touch or reveal another user's room.
            Assert.That(AuthenticationOnly, Does.Contain(methodName), "a new room-free method must be reviewed here");
            if (methodName == nameof(IRoomHub.CreateRoom))
            {
                await HubAssert.RefusedAsync(() => Invoke(stranger, methodName, privateRoom), ErrorCodes.Conflict);
            }
            else
            {
                await Invoke(stranger, methodName, privateRoom);
            }

            var listed = await stranger.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
            Assert.That(listed.Select(r => r.RoomId), Does.Not.Contain(privateRoom));
        }
        else
        {
            await AssertRoomMethodRefusedAsync(methodName, action, stranger, privateRoom, publicRoom);
        }

        // The owner's view of both rooms is unchanged by the stranger's calls.
        var rooms = await owner.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
        Assert.That(rooms.Where(r => r.RoomId == privateRoom || r.RoomId == publicRoom).Select(r => (r.OwnerId, r.Permission, r.MemberCount)),
            Is.EquivalentTo(new[] { ("olivia", RoomPermission.Private, 0), ("olivia", RoomPermission.Public, 1) }));
    }

    private static async Task AssertRoomMethodRefusedAsync(string methodName, RoomAction action, HubConnection stranger, string privateRoom, string publicRoom)
    {

        // A room the stranger may not join: every room method answers as if it did not exist.
        await HubAssert.RefusedAsync(() => Invoke(stranger, methodName, privateRoom), ErrorCodes.NotFound);

        // A room the stranger can see but has not joined, and does not own: what needs more than seeing is forbidden.
        if (action is RoomAction.Manage or RoomAction.Send or RoomAction.ReadJoined)
        {
            await HubAssert.RefusedAsync(() => Invoke(stranger, methodName, publicRoom), ErrorCodes.Forbidden);
        }
    }

    private static Task Invoke(HubConnection connection, string method, string roomId)
    {
        var parameters = typeof(IRoomHub).GetMethod(method)!.GetParameters();
        var arguments = parameters.Select(p => (object?)(p.ParameterType.Name switch
        {
            nameof(CreateRoomRequest) => new CreateRoomRequest(roomId, RoomPermission.Public),
            nameof(UpdateRoomRequest) => new UpdateRoomRequest(roomId, Permission: RoomPermission.Public),
            nameof(SendMessageRequest) => new SendMessageRequest(roomId, "let me in"),
            nameof(GetHistoryRequest) => new GetHistoryRequest(roomId),
            nameof(GetMembersPageRequest) => new GetMembersPageRequest(roomId),
            _ => p.Name switch
            {
                "userId" => "mallory",
                "status" => PresenceStatus.Away,
                _ => roomId,
            },
        })).ToArray();
        return connection.InvokeCoreAsync<object?>(method, arguments);
    }
}
