namespace Hubs.Contracts;

/// <summary>Presence status values as sent on the wire.</summary>
public static class PresenceStatus
{
    /// <summary>The user is active.</summary>
    public const string Online = "online";

    /// <summary>The user is connected but away.</summary>
    public const string Away = "away";
}

/// <summary>Reasons carried by <see cref="IRoomClient.RemovedFromRoom"/>.</summary>
public static class RemovalReasons
{
    /// <summary>The owner kicked the user.</summary>
    public const string Kicked = "kicked";

    /// <summary>The user lost the right to be in the room (invite revoked, stricter permission).</summary>
    public const string Revoked = "revoked";

    /// <summary>The room was deleted.</summary>
    public const string Deleted = "deleted";
}

/// <summary>Values of <see cref="RoomInfo.PresenceMode"/> (contract version 2).</summary>
public static class PresenceModes
{
    /// <summary>Presence is reported by one event per change (<c>UserJoined</c>, <c>UserLeft</c>, <c>PresenceChanged</c>).</summary>
    public const string Events = "events";

    /// <summary>The room is past the digest threshold: presence is reported by a periodic <c>PresenceDigest</c>.</summary>
    public const string Digest = "digest";
}

/// <summary>Fixed bounds of contract version 2 (large rooms).</summary>
public static class LargeRoomBounds
{
    /// <summary>Most entries in each list of a <see cref="PresenceDigestEvent"/>.</summary>
    public const int DigestListLimit = 100;

    /// <summary>Most distinct typists forwarded per digest room in any one-second window.</summary>
    public const int TypistsPerSecond = 3;

    /// <summary>Default and largest <see cref="GetMembersPageRequest.Limit"/>.</summary>
    public const int DefaultPageLimit = 200;

    /// <inheritdoc cref="DefaultPageLimit"/>
    public const int MaxPageLimit = 1000;
}
