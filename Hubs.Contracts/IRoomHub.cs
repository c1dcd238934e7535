namespace Hubs.Contracts;

/// <summary>
/// Every method a client may invoke on <see cref="HubRoutes.Rooms"/>. Method names are the wire names.
/// A refused call fails with a hub error whose message starts with one of <see cref="ErrorCodes"/>.
/// </summary>
public interface IRoomHub
{
    /// <summary>Creates a room owned by the caller.</summary>
    Task<RoomInfo> CreateRoom(CreateRoomRequest request);

    /// <summary>Gets a room the caller may join or is in.</summary>
    Task<RoomInfo> GetRoom(string roomId);

    /// <summary>Lists the rooms the caller may join or owns.</summary>
    Task<IReadOnlyList<RoomInfo>> ListRooms();

    /// <summary>Changes a room (owner only). A stricter permission removes members who lose access.</summary>
    Task<RoomInfo> UpdateRoom(UpdateRoomRequest request);

    /// <summary>Deletes a room (owner only); its members receive <see cref="IRoomClient.RemovedFromRoom"/>.</summary>
    Task DeleteRoom(string roomId);

    /// <summary>Invites a user (owner only). Also lifts a kick.</summary>
    Task InviteUser(string roomId, string userId);

    /// <summary>Revokes an invite (owner only); the user is removed if the invite was their access.</summary>
    Task RevokeInvite(string roomId, string userId);

    /// <summary>Lists invited users (owner only).</summary>
    Task<IReadOnlyList<string>> GetInvites(string roomId);

    /// <summary>Removes a user from the room and bars them until invited again (owner only).</summary>
    Task KickUser(string roomId, string userId);

    /// <summary>Joins the room with this connection; idempotent per connection.</summary>
    Task<JoinRoomResult> JoinRoom(string roomId);

    /// <summary>Leaves the room with this connection.</summary>
    Task LeaveRoom(string roomId);

    /// <summary>Sends a message to a room this connection has joined; returns once it is stored.</summary>
    Task<SendMessageResult> SendMessage(SendMessageRequest request);

    /// <summary>Signals typing in a joined room; throttled, excess dropped silently.</summary>
    Task Typing(string roomId);

    /// <summary>Sets the caller's status: <see cref="PresenceStatus.Online"/> or <see cref="PresenceStatus.Away"/>.</summary>
    Task SetStatus(string status);

    /// <summary>Lists the users present in a joined room; in a digest room it answers <c>invalid_argument</c> (use <see cref="GetMembersPage"/>).</summary>
    Task<IReadOnlyList<MemberInfo>> GetMembers(string roomId);

    /// <summary>One page of a joined room's members, ascending by user id (contract version 2; any room size).</summary>
    Task<MembersPage> GetMembersPage(GetMembersPageRequest request);

    /// <summary>Reads stored messages of a joined room in ascending sequence order.</summary>
    Task<IReadOnlyList<RoomMessage>> GetHistory(GetHistoryRequest request);
}
