using Hubs.Contracts;

namespace Hubs.Server.Rooms;

/// <summary>A room's stored settings.</summary>
internal sealed record RoomRecord(
    string RoomId,
    string DisplayName,
    RoomPermission Permission,
    string OwnerId,
    IReadOnlyList<string> AllowedRoles,
    int MaxMembers,
    DateTimeOffset CreatedAt)
{
    public RoomInfo ToInfo(int memberCount, bool digest = false) =>
        new(RoomId, DisplayName, Permission, OwnerId, AllowedRoles, MaxMembers, memberCount, CreatedAt, digest ? PresenceModes.Digest : PresenceModes.Events);

    public RoomInfo ToInfo(Presence.RoomSize size) => ToInfo(size.Members, size.Digest);
}

/// <summary>What the room's owner granted or denied one user.</summary>
internal readonly record struct RoomGrants(bool Invited, bool Kicked)
{
    public static readonly RoomGrants None = default;
}

/// <summary>The SignalR group that carries a room's broadcasts.</summary>
internal static class RoomGroups
{
    public static string For(string roomId) => "room:" + roomId;
}
