namespace Hubs.Contracts;

/// <summary>Implemented by every request that names a room.</summary>
public interface IRoomScoped
{
    /// <summary>The room the request is about.</summary>
    string RoomId { get; }
}

/// <summary>A room as clients see it.</summary>
/// <param name="RoomId">Room id: 1 to 64 characters of <c>A-Z a-z 0-9 _ - .</c>, starting with a letter or digit.</param>
/// <param name="DisplayName">Human-readable name.</param>
/// <param name="Permission">Who may join.</param>
/// <param name="OwnerId">The creator's user id.</param>
/// <param name="AllowedRoles">Roles that may join a <see cref="RoomPermission.Restricted"/> room.</param>
/// <param name="MaxMembers">Largest number of distinct users in the room at once.</param>
/// <param name="MemberCount">Distinct users currently in the room.</param>
/// <param name="CreatedAt">Creation time, UTC.</param>
/// <param name="PresenceMode">
/// How the room reports presence (contract version 2): <see cref="PresenceModes.Events"/> (<c>UserJoined</c>, <c>UserLeft</c>,
/// <c>PresenceChanged</c>) or, past the digest threshold, <see cref="PresenceModes.Digest"/> (<c>PresenceDigest</c>).
/// </param>
public sealed record RoomInfo(
    string RoomId,
    string DisplayName,
    RoomPermission Permission,
    string OwnerId,
    IReadOnlyList<string> AllowedRoles,
    int MaxMembers,
    int MemberCount,
    DateTimeOffset CreatedAt,
    string PresenceMode = PresenceModes.Events);

/// <summary>Arguments of <see cref="IRoomHub.CreateRoom"/>.</summary>
/// <param name="RoomId">The new room's id.</param>
/// <param name="Permission">Who may join.</param>
/// <param name="DisplayName">Optional display name; defaults to the room id.</param>
/// <param name="AllowedRoles">Roles for a <see cref="RoomPermission.Restricted"/> room.</param>
/// <param name="MaxMembers">Optional member limit; the server default applies when omitted.</param>
public sealed record CreateRoomRequest(
    string RoomId,
    RoomPermission Permission,
    string? DisplayName = null,
    IReadOnlyList<string>? AllowedRoles = null,
    int? MaxMembers = null) : IRoomScoped;

/// <summary>Arguments of <see cref="IRoomHub.UpdateRoom"/>; omitted members stay as they are.</summary>
/// <param name="RoomId">The room to change.</param>
/// <param name="DisplayName">New display name.</param>
/// <param name="Permission">New permission.</param>
/// <param name="AllowedRoles">New allowed roles.</param>
/// <param name="MaxMembers">New member limit.</param>
public sealed record UpdateRoomRequest(
    string RoomId,
    string? DisplayName = null,
    RoomPermission? Permission = null,
    IReadOnlyList<string>? AllowedRoles = null,
    int? MaxMembers = null) : IRoomScoped;

/// <summary>A user present in a room.</summary>
/// <param name="UserId">The user's id (token <c>sub</c>).</param>
/// <param name="DisplayName">The user's display name (token <c>name</c>).</param>
/// <param name="Status"><see cref="PresenceStatus.Online"/> or <see cref="PresenceStatus.Away"/>.</param>
public sealed record MemberInfo(string UserId, string DisplayName, string Status);

/// <summary>Result of <see cref="IRoomHub.JoinRoom"/>.</summary>
/// <param name="Room">The room; its <see cref="RoomInfo.MemberCount"/> is exact.</param>
/// <param name="Members">
/// Users present, the caller included: at most the server's join members limit (default 100), online ones first.
/// </param>
/// <param name="LastSequence">Sequence of the newest accepted message, 0 when there is none.</param>
/// <param name="MembersComplete">True when <paramref name="Members"/> holds every member; otherwise page with <see cref="IRoomHub.GetMembersPage"/>.</param>
public sealed record JoinRoomResult(RoomInfo Room, IReadOnlyList<MemberInfo> Members, long LastSequence, bool MembersComplete = true);

/// <summary>Arguments of <see cref="IRoomHub.GetMembersPage"/>.</summary>
/// <param name="RoomId">A room the caller's connection has joined.</param>
/// <param name="AfterUserId">Only members whose id sorts (ordinal) after this one; omitted: from the first.</param>
/// <param name="Limit">1 to 1000; default 200.</param>
public sealed record GetMembersPageRequest(string RoomId, string? AfterUserId = null, int? Limit = null) : IRoomScoped;

/// <summary>Result of <see cref="IRoomHub.GetMembersPage"/>.</summary>
/// <param name="Members">Members ascending by user id (ordinal).</param>
/// <param name="NextAfterUserId">The last returned id when more members follow it (pass it as the next <c>afterUserId</c>); null when none does.</param>
public sealed record MembersPage(IReadOnlyList<MemberInfo> Members, string? NextAfterUserId);

/// <summary>
/// Argument of <see cref="IRoomClient.PresenceDigest"/>: a digest room's net presence change since its previous digest
/// (a user who joined and left in between is in neither list).
/// </summary>
/// <param name="RoomId">The room.</param>
/// <param name="MemberCount">The room's exact number of distinct members when the digest was made.</param>
/// <param name="Joined">Users who joined, with their current status (at most 100).</param>
/// <param name="Left">Ids of users who left (at most 100).</param>
/// <param name="Changed">Members whose status changed, with the new status (at most 100).</param>
/// <param name="Truncated">True when any list would have held more than 100: refresh the member list with <see cref="IRoomHub.GetMembersPage"/>.</param>
public sealed record PresenceDigestEvent(
    string RoomId,
    int MemberCount,
    IReadOnlyList<MemberInfo> Joined,
    IReadOnlyList<string> Left,
    IReadOnlyList<MemberInfo> Changed,
    bool Truncated);

/// <summary>Arguments of <see cref="IRoomHub.SendMessage"/>.</summary>
/// <param name="RoomId">Target room; the calling connection must have joined it.</param>
/// <param name="Text">Message text.</param>
/// <param name="ClientMessageId">Optional id chosen by the client, echoed on the delivered message.</param>
public sealed record SendMessageRequest(string RoomId, string Text, string? ClientMessageId = null) : IRoomScoped;

/// <summary>Acknowledgement of an accepted message.</summary>
/// <param name="RoomId">The room.</param>
/// <param name="Sequence">The message's per-room sequence number.</param>
/// <param name="SentAt">Server time of acceptance, UTC.</param>
public sealed record SendMessageResult(string RoomId, long Sequence, DateTimeOffset SentAt);

/// <summary>Arguments of <see cref="IRoomHub.GetHistory"/>.</summary>
/// <param name="RoomId">The room.</param>
/// <param name="AfterSequence">Only messages with a greater sequence; omitted means the newest <paramref name="Limit"/>.</param>
/// <param name="Limit">1 to 200; default 100.</param>
public sealed record GetHistoryRequest(string RoomId, long? AfterSequence = null, int? Limit = null) : IRoomScoped;

/// <summary>A message in a room.</summary>
/// <param name="RoomId">The room.</param>
/// <param name="Sequence">Per-room sequence, starting at 1, gapless.</param>
/// <param name="SenderId">The sender's user id, always taken from the sender's token.</param>
/// <param name="SenderName">The sender's display name.</param>
/// <param name="Text">Message text.</param>
/// <param name="SentAt">Server time of acceptance, UTC.</param>
/// <param name="ClientMessageId">The id the sender chose, if any.</param>
public sealed record RoomMessage(
    string RoomId,
    long Sequence,
    string SenderId,
    string SenderName,
    string Text,
    DateTimeOffset SentAt,
    string? ClientMessageId);

/// <summary>Argument of <see cref="IRoomClient.UserJoined"/> and <see cref="IRoomClient.UserLeft"/>.</summary>
/// <param name="RoomId">The room.</param>
/// <param name="UserId">The user.</param>
/// <param name="DisplayName">The user's display name.</param>
public sealed record UserPresenceEvent(string RoomId, string UserId, string DisplayName);

/// <summary>Argument of <see cref="IRoomClient.PresenceChanged"/>.</summary>
/// <param name="RoomId">A room the user is in.</param>
/// <param name="UserId">The user.</param>
/// <param name="Status"><see cref="PresenceStatus.Online"/> or <see cref="PresenceStatus.Away"/>.</param>
public sealed record PresenceChangedEvent(string RoomId, string UserId, string Status);

/// <summary>Argument of <see cref="IRoomClient.UserTyping"/>.</summary>
/// <param name="RoomId">The room.</param>
/// <param name="UserId">The typist.</param>
public sealed record UserTypingEvent(string RoomId, string UserId);

/// <summary>Argument of <see cref="IRoomClient.RemovedFromRoom"/>.</summary>
/// <param name="RoomId">The room the connection was taken out of.</param>
/// <param name="Reason"><see cref="RemovalReasons.Kicked"/>, <see cref="RemovalReasons.Revoked"/> or <see cref="RemovalReasons.Deleted"/>.</param>
public sealed record RemovedFromRoomEvent(string RoomId, string Reason);

/// <summary>Body of the admin API's <c>POST /api/rooms/{roomId}/messages</c>: a message posted by a backend service.</summary>
/// <param name="SenderId">The service's sender id, shown to members as the message's <c>senderId</c>.</param>
/// <param name="Text">The message text, under the same rules as <see cref="IRoomHub.SendMessage"/>.</param>
/// <param name="SenderName">The sender's display name (default: <paramref name="SenderId"/>).</param>
/// <param name="ClientMessageId">Idempotency key: a retry with the same id stores nothing new and returns the original.</param>
public sealed record ServiceMessageRequest(string SenderId, string Text, string? SenderName = null, string? ClientMessageId = null);

/// <summary>Body of the admin API's <c>POST /api/rooms</c>: a room created on behalf of <paramref name="OwnerId"/>.</summary>
/// <param name="RoomId">The room id (same rules as <see cref="CreateRoomRequest"/>).</param>
/// <param name="Permission">Who may join.</param>
/// <param name="OwnerId">The user who owns the room.</param>
/// <param name="DisplayName">Display name (default: the id).</param>
/// <param name="AllowedRoles">Roles that may join a <see cref="RoomPermission.Restricted"/> room.</param>
/// <param name="MaxMembers">Member limit (default: the server's).</param>
public sealed record ServiceCreateRoomRequest(
    string RoomId,
    RoomPermission Permission,
    string OwnerId,
    string? DisplayName = null,
    IReadOnlyList<string>? AllowedRoles = null,
    int? MaxMembers = null);

/// <summary>Body of the admin API's <c>PATCH /api/rooms/{roomId}</c>: the settings to change; absent ones stay.</summary>
/// <param name="DisplayName">New display name.</param>
/// <param name="Permission">New permission; members who lose access are removed first.</param>
/// <param name="AllowedRoles">New allowed roles.</param>
/// <param name="MaxMembers">New member limit.</param>
public sealed record ServiceUpdateRoomRequest(
    string? DisplayName = null,
    RoomPermission? Permission = null,
    IReadOnlyList<string>? AllowedRoles = null,
    int? MaxMembers = null);

/// <summary>Argument of <see cref="IRoomClient.Notified"/>: a notification a backend sent to one user.</summary>
/// <param name="UserId">The user it was sent to.</param>
/// <param name="SenderId">The backend's sender id.</param>
/// <param name="Kind">The app's own category (for example <c>invoice</c>); <c>notice</c> when none was given.</param>
/// <param name="Text">The text.</param>
/// <param name="SentAt">When the server accepted it.</param>
public sealed record UserNotification(string UserId, string SenderId, string Kind, string Text, DateTimeOffset SentAt);

/// <summary>Body of the admin API's <c>POST /api/users/{userId}/notifications</c>.</summary>
/// <param name="SenderId">The backend's sender id.</param>
/// <param name="Text">The text (same length rule as a message).</param>
/// <param name="Kind">The app's own category, 1 to 64 of <c>A-Z a-z 0-9 _ - . :</c> (default <c>notice</c>).</param>
public sealed record NotifyUserRequest(string SenderId, string Text, string? Kind = null);

/// <summary>Body of the admin API's <c>POST /api/users/{userId}/disconnect</c>.</summary>
/// <param name="BanSeconds">How long the user's reconnects are refused (<c>forbidden</c>); none when absent or 0.</param>
public sealed record DisconnectUserRequest(int? BanSeconds = null);

/// <summary>Answer of <c>POST /api/users/{userId}/disconnect</c>.</summary>
/// <param name="UserId">The user whose connections are being closed on every node.</param>
/// <param name="BannedUntil">When the ban ends; null without one.</param>
public sealed record DisconnectUserResult(string UserId, DateTimeOffset? BannedUntil);

/// <summary>One audit record, as <c>GET /api/audit</c> returns it: who did what to which room and user, and how it ended.</summary>
/// <param name="Time">When it happened.</param>
/// <param name="Actor">The caller's user id (a token subject).</param>
/// <param name="Via"><c>hub</c> (a connected user) or <c>api</c> (the admin API).</param>
/// <param name="Action">The hub method or admin action, for example <c>KickUser</c> or <c>PostMessage</c>.</param>
/// <param name="RoomId">The room, when there is one.</param>
/// <param name="TargetUserId">The user acted on, when there is one.</param>
/// <param name="Outcome"><c>ok</c>, or the error code it was refused with.</param>
/// <param name="RefId">Reference id; for a refusal the one its caller was given and the log carries.</param>
public sealed record AuditRecord(
    DateTimeOffset Time,
    string Actor,
    string Via,
    string Action,
    string? RoomId,
    string? TargetUserId,
    string Outcome,
    string RefId);
