using Hubs.Contracts;
using Hubs.Server.Presence;

namespace Hubs.Tests.Unit.Presence;

/// <summary>A digest room's ledger: net change per user between two digests, lists bounded.</summary>
public sealed class PendingPresenceTests
{
    private static MemberInfo Member(string id, string status = PresenceStatus.Online) => new(id, id, status);

    [Test]
    public void JoinThenLeave_InOneInterval_InNeitherList()
    {
        var pending = new PendingPresence();
        pending.Joined("a");
        pending.Left("a", PresenceStatus.Online);

        var digest = pending.Take("r", 7, id => Member(id));

        Assert.That((digest.Joined.Count, digest.Left.Count, digest.Changed.Count, digest.HasChanges()), Is.EqualTo((0, 0, 0, false)));
        Assert.That(digest.MemberCount, Is.EqualTo(7));
    }

    [Test]
    public void LeaveThenJoin_SameStatus_NoChange_OtherStatus_Changed()
    {
        var pending = new PendingPresence();
        pending.Left("same", PresenceStatus.Online);
        pending.Joined("same");
        pending.Left("other", PresenceStatus.Online);
        pending.Joined("other");

        var digest = pending.Take("r", 2, id => Member(id, id == "other" ? PresenceStatus.Away : PresenceStatus.Online));

        Assert.That(digest.Changed, Is.EqualTo(new[] { Member("other", PresenceStatus.Away) }));
        Assert.That(digest.Joined.Concat(digest.Changed).Select(m => m.UserId), Has.None.EqualTo("same"));
        Assert.That(digest.Left, Is.Empty);
    }

    [Test]
    public void StatusAwayAndBack_NoChange_JoinedUserKeepsJoinWithCurrentStatus()
    {
        var pending = new PendingPresence();
        pending.StatusChanged("back", PresenceStatus.Online);
        pending.StatusChanged("back", PresenceStatus.Away);
        pending.Joined("new");
        pending.StatusChanged("new", PresenceStatus.Online);

        var digest = pending.Take("r", 2, id => Member(id, id == "new" ? PresenceStatus.Away : PresenceStatus.Online));

        Assert.That(digest.Changed, Is.Empty, "the status at the previous digest is what counts");
        Assert.That(digest.Joined, Is.EqualTo(new[] { Member("new", PresenceStatus.Away) }));
    }

    [Test]
    public void MoreThanAHundred_ListsCut_Truncated_LedgerStartsOver()
    {
        var pending = new PendingPresence();
        for (var i = 0; i < 150; i++)
        {
            pending.Joined($"u{i}");
        }

        var digest = pending.Take("r", 150, id => Member(id));
        var next = pending.Take("r", 150, id => Member(id));

        Assert.That((digest.Joined.Count, digest.Truncated), Is.EqualTo((LargeRoomBounds.DigestListLimit, true)));
        Assert.That(next.HasChanges(), Is.False);
    }
}
