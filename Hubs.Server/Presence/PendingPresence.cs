using Hubs.Contracts;

namespace Hubs.Server.Presence;

/// <summary>
/// A digest room's changes since its previous digest, netted per user: <c>J</c> (joined), <c>L:&lt;status&gt;</c> (left;
/// the status it had at the previous digest) and <c>C:&lt;status&gt;</c> (still a member; its status at the previous
/// digest). A join and a leave in one interval cancel out; a status that went and came back is no change. The Redis
/// scripts keep the same encoding in a hash (<see cref="Infrastructure.Redis.RedisScripts"/>); this is the single-node form.
/// </summary>
internal sealed class PendingPresence
{
    private readonly Dictionary<string, string> _changes = new(StringComparer.Ordinal);

    public int Count => _changes.Count;

    /// <summary>The user's first connection joined.</summary>
    public void Joined(string userId)
    {
        _changes[userId] = _changes.TryGetValue(userId, out var prior) && prior[0] == 'L' ? "C" + prior[1..] : "J";
    }

    /// <summary>The user's last connection left; <paramref name="status"/> is its status as it leaves.</summary>
    public void Left(string userId, string status)
    {
        if (!_changes.TryGetValue(userId, out var prior))
        {
            _changes[userId] = "L:" + status;
        }
        else if (prior == "J")
        {
            _changes.Remove(userId);
        }
        else
        {
            _changes[userId] = "L" + prior[1..];
        }
    }

    /// <summary>The member's status changed from <paramref name="previous"/>.</summary>
    public void StatusChanged(string userId, string previous) => _changes.TryAdd(userId, "C:" + previous);

    /// <summary>The net change, each list cut at <see cref="LargeRoomBounds.DigestListLimit"/>; the ledger starts over.</summary>
    public PresenceDigestEvent Take(string roomId, int memberCount, Func<string, MemberInfo> member)
    {
        var joined = new List<MemberInfo>();
        var left = new List<string>();
        var changed = new List<MemberInfo>();
        var truncated = false;
        foreach (var (userId, change) in _changes)
        {
            if (change == "J")
            {
                truncated |= !AddBounded(joined, member(userId));
            }
            else if (change[0] == 'L')
            {
                truncated |= !AddBounded(left, userId);
            }
            else if (member(userId) is var now && now.Status != change[2..])
            {
                truncated |= !AddBounded(changed, now);
            }
        }

        _changes.Clear();
        return new PresenceDigestEvent(roomId, memberCount, joined, left, changed, truncated);
    }

    public void Clear() => _changes.Clear();

    private static bool AddBounded<T>(List<T> list, T item)
    {
        if (list.Count >= LargeRoomBounds.DigestListLimit)
        {
            return false;
        }

        list.Add(item);
        return true;
    }
}

internal static class PresenceDigestExtensions
{
    /// <summary>True when the digest says anything (a digest whose changes all cancelled out is not sent).</summary>
    public static bool HasChanges(this PresenceDigestEvent digest) =>
        digest.Joined.Count > 0 || digest.Left.Count > 0 || digest.Changed.Count > 0 || digest.Truncated;
}
