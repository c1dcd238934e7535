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
