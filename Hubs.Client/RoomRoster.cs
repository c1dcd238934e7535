using Hubs.Contracts;

namespace Hubs.Client;

/// <summary>
/// A joined room's members as <see cref="HubsClient"/> last knew them: an immutable snapshot, replaced whole on every
/// change (read it from any thread). Kept from the join result, the presence events of a room below the digest threshold
/// and the <c>PresenceDigest</c>s of one past it, and completed by paging <c>GetMembersPage</c> when the join result did
/// not hold every member or a digest was truncated (contract version 2).
/// </summary>
public sealed class RoomRoster
{
    internal RoomRoster(string roomId, int memberCount, string presenceMode, bool isComplete, IReadOnlyDictionary<string, MemberInfo> members)
    {
        RoomId = roomId;
        MemberCount = memberCount;
        PresenceMode = presenceMode;
        IsComplete = isComplete;
        Members = members;
    }

    /// <summary>The room.</summary>
    public string RoomId { get; }

    /// <summary>
    /// Distinct users in the room: the server's exact count (from the join result, the latest digest or the mode
    /// switch), and in a room reporting by events, once <see cref="IsComplete"/>, the size of <see cref="Members"/>.
    /// </summary>
    public int MemberCount { get; }

    /// <summary><see cref="PresenceModes.Events"/> or <see cref="PresenceModes.Digest"/>, as the server last said.</summary>
    public string PresenceMode { get; }

    /// <summary>
    /// True when <see cref="Members"/> holds every member; false while the client pages the rest in (after a join into
    /// a room larger than the server's join members limit, or a truncated digest) or when that paging failed.
    /// </summary>
    public bool IsComplete { get; }

    /// <summary>
    /// Members by user id, ascending (ordinal), with their status. A user who joins a room reporting by events is
    /// listed <see cref="PresenceStatus.Online"/> (<c>UserJoined</c> carries no status) until a change says otherwise.
    /// </summary>
    public IReadOnlyDictionary<string, MemberInfo> Members { get; }
}
