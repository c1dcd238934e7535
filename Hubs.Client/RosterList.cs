using System.Collections.Immutable;
using Hubs.Contracts;

namespace Hubs.Client;

/// <summary>
/// One room's member list and count as the client knows them, and what changed since it last said. Every operation is
/// idempotent (add, remove, set status), so a change applied twice, once to an older list and once again to a newer
/// one, leaves what it left the first time. Used by one thread at a time (the delivery queue).
/// </summary>
internal sealed class RosterList
{
    private readonly string _roomId;
    private readonly List<MemberInfo> _joined = [];
    private readonly List<string> _left = [];
    private readonly List<MemberInfo> _changed = [];
    private ImmutableSortedDictionary<string, MemberInfo> _members;
    private RoomRoster? _said;

    private RosterList(string roomId, RoomInfo room, IEnumerable<MemberInfo> members, bool complete)
    {
        _roomId = roomId;
        _members = ById(members);
        Count = room.MemberCount;
        Mode = room.PresenceMode;
        Complete = complete;
        Recount();
    }

    public int Count { get; private set; }

    public string Mode { get; private set; }

    public bool Complete { get; private set; }

    /// <summary>The list a join result gives: possibly only the first members (online ones first).</summary>
    public static RosterList From(JoinRoomResult result) =>
        new(result.Room.RoomId, result.Room, result.Members, result.MembersComplete);

    /// <summary>A <c>UserJoined</c>: a user not listed yet is added as online; a listed one keeps its status.</summary>
    public void Joined(UserPresenceEvent presence)
    {
        Put(new MemberInfo(presence.UserId, presence.DisplayName, PresenceStatus.Online), keepStatus: true);
        Recount();
    }

    /// <summary>A <c>UserLeft</c>.</summary>
    public void Left(UserPresenceEvent presence)
    {
        Remove(presence.UserId);
        Recount();
    }

    /// <summary>A <c>PresenceChanged</c>: only a listed member can change (the event carries no display name).</summary>
    public void StatusChanged(PresenceChangedEvent presence)
    {
        if (_members.TryGetValue(presence.UserId, out var known) && known.Status != presence.Status)
        {
            Set(known with { Status = presence.Status });
        }
    }

    /// <summary>A <c>PresenceDigest</c>: its net changes, and the room's exact count.</summary>
    public void Digest(PresenceDigestEvent digest)
    {
        foreach (var member in digest.Joined.Concat(digest.Changed))
        {
            Put(member, keepStatus: false);
        }

        foreach (var userId in digest.Left)
        {
            Remove(userId);
        }

        Count = digest.MemberCount;
        Recount();
    }

    /// <summary>A <c>RoomUpdated</c>: the presence mode (a switch) and the room's count.</summary>
    public void Updated(RoomInfo room)
    {
        Mode = room.PresenceMode;
        Count = room.MemberCount;
        Recount();
    }

    /// <summary>Paging the members in has begun: the list is not complete until it is done.</summary>
    public void MarkIncomplete() => Complete = false;

    /// <summary>Every member, read page by page.</summary>
    public void Replace(IEnumerable<MemberInfo> members)
    {
        _members = ById(members);
        Complete = true;
        Recount();
    }

    /// <summary>
    /// What changed since the last call, with the roster as it is now; null when nothing did. A reset says the list was
    /// replaced whole, without lists of what changed.
    /// </summary>
    public RosterChangedEvent? TakeChange(bool reset)
    {
        var same = _joined.Count == 0 && _left.Count == 0 && _changed.Count == 0
            && _said is { } said && said.MemberCount == Count && said.PresenceMode == Mode && said.IsComplete == Complete;
        if (same && !reset)
        {
            return null;
        }

        _said = new RoomRoster(_roomId, Count, Mode, Complete, _members);
        var change = reset
            ? new RosterChangedEvent(_said, [], [], [], Reset: true)
            : new RosterChangedEvent(_said, [.. _joined], [.. _left], [.. _changed], Reset: false);
        _joined.Clear();
        _left.Clear();
        _changed.Clear();
        return change;
    }

    private static ImmutableSortedDictionary<string, MemberInfo> ById(IEnumerable<MemberInfo> members)
    {
        var byId = ImmutableSortedDictionary.CreateBuilder<string, MemberInfo>(StringComparer.Ordinal);
        foreach (var member in members)
        {
            byId[member.UserId] = member;
        }

        return byId.ToImmutable();
    }

    private void Put(MemberInfo member, bool keepStatus)
    {
        if (!_members.TryGetValue(member.UserId, out var known))
        {
            _members = _members.Add(member.UserId, member);
            _joined.Add(member);
            Count++;
            return;
        }

        var updated = keepStatus ? known with { DisplayName = member.DisplayName } : member;
        if (updated.Status != known.Status)
        {
            Set(updated);
        }
        else if (updated != known)
        {
            _members = _members.SetItem(member.UserId, updated);
        }
    }

    private void Set(MemberInfo member)
    {
        _members = _members.SetItem(member.UserId, member);
        _changed.Add(member);
    }

    private void Remove(string userId)
    {
        if (_members.ContainsKey(userId))
        {
            _members = _members.Remove(userId);
            _left.Add(userId);
            Count--;
        }
        else if (!Complete)
        {
            // A member the partial list did not hold yet: still one fewer.
            Count = Math.Max(0, Count - 1);
        }
    }

    /// <summary>A complete list in a room reporting by events is its own exact count; otherwise the server's word stands.</summary>
    private void Recount()
    {
        if (Complete && Mode == PresenceModes.Events)
        {
            Count = _members.Count;
        }
    }
}
