using Hubs.Contracts;
using Hubs.Server.Authorization;

namespace Hubs.Server.Rooms;

/// <summary>What a hub method does to a room; declared on every hub method with <see cref="RoomActionAttribute"/>.</summary>
internal enum RoomAction
{
    /// <summary>The method does not touch an existing room (authentication is still required).</summary>
    None,

    /// <summary>Read the room's settings.</summary>
    View,

    /// <summary>Join with the calling connection.</summary>
    Join,

    /// <summary>Leave with the calling connection.</summary>
    Leave,

    /// <summary>Send a message or typing signal; the connection must have joined.</summary>
    Send,

    /// <summary>Read members or history; the connection must have joined.</summary>
    ReadJoined,

    /// <summary>Change settings, invites, kicks; owner only.</summary>
    Manage,
}

internal enum AccessDecision
{
    Allow,
    NotFound,
    Forbidden,
}

/// <summary>The one place that decides who may do what in a room. Pure, so that it can be tabled by unit tests.</summary>
internal static class RoomAccess
{
    /// <summary>Whether <paramref name="user"/> may join (and therefore see) <paramref name="room"/>.</summary>
    public static bool CanJoin(RoomRecord room, HubsUser user, RoomGrants grants)
    {
        if (IsOwner(room, user))
        {
            return true;
        }

        if (grants.Kicked)
        {
            return false;
        }

        return room.Permission switch
        {
            RoomPermission.Public => true,
            RoomPermission.Private => grants.Invited,
            RoomPermission.Restricted => user.HasAnyRole(room.AllowedRoles),
            _ => false,
        };
    }

    public static bool IsOwner(RoomRecord room, HubsUser user) =>
        string.Equals(room.OwnerId, user.UserId, StringComparison.Ordinal);

    /// <summary>
    /// Decides one action. A room the user may not join answers <see cref="AccessDecision.NotFound"/> exactly like a
    /// missing one (T9); <see cref="AccessDecision.Forbidden"/> only for rooms the user can see.
    /// </summary>
    public static AccessDecision Decide(RoomRecord? room, HubsUser user, RoomGrants grants, bool connectionJoined, RoomAction action)
    {
        if (action == RoomAction.None)
        {
            return AccessDecision.Allow;
        }

        if (room is null || !CanJoin(room, user, grants))
        {
            return AccessDecision.NotFound;
        }

        return action switch
        {
            RoomAction.View or RoomAction.Join or RoomAction.Leave => AccessDecision.Allow,
            RoomAction.Send or RoomAction.ReadJoined => connectionJoined ? AccessDecision.Allow : AccessDecision.Forbidden,
            RoomAction.Manage => IsOwner(room, user) ? AccessDecision.Allow : AccessDecision.Forbidden,
            _ => AccessDecision.NotFound,
        };
    }
}

/// <summary>Declares what a hub method does to a room; the hub filter refuses methods without it.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class RoomActionAttribute(RoomAction action) : Attribute
{
    public RoomAction Action { get; } = action;
}

/// <summary>
/// Per-invocation state the hub filter hands to the hub: who calls, and the room it checked; and back from the hub, the
/// owner action it ran, whose refusal the filter records under the reference id its caller gets.
/// </summary>
internal sealed class RoomInvocation
{
    private HubsUser? _user;
    private RoomRecord? _room;
    private SendTurn? _sendTurn;

    public HubsUser User
    {
        get => _user ?? throw new InvalidOperationException("The hub filter did not run.");
        set => _user = value;
    }

    public RoomRecord Room
    {
        get => _room ?? throw new InvalidOperationException("This method declared no room action.");
        set => _room = value;
    }

    /// <summary>The room's member count and presence mode, when the decision was taken on a view that had them.</summary>
    public Presence.RoomSize? Size { get; set; }

    /// <summary>A send's place among its connection's sends.</summary>
    public SendTurn SendTurn
    {
        get => _sendTurn ?? throw new InvalidOperationException("This method spends no message budget.");
        set => _sendTurn = value;
    }

    /// <summary>The owner action running, if any: its audit record's action, room and target user.</summary>
    public (string Action, string RoomId, string? TargetUserId)? OwnerAction { get; set; }
}
