using Hubs.Client;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hubs.Tests.Unit.Client;

/// <summary>
/// The client's member rosters on their own (no server): kept from join results, presence events and digests, paged
/// in when incomplete or after a truncated digest, with changes that arrive meanwhile applied again to the pages, and
/// started over by a rejoin.
/// </summary>
public sealed class RoomRostersTests
{
    private const string RoomId = "lobby";

    [Test]
    public async Task JoinedAsync_CompleteResult_RosterIsItsMembersWithoutPaging()
    {
        var harness = new Harness();

        await harness.JoinAsync(Result(2, complete: true, Member("ann"), Member("bob", PresenceStatus.Away)));

        var roster = harness.Rosters.Get(RoomId)!;
        Assert.Multiple(() =>
        {
            Assert.That(roster.Members.Values, Is.EqualTo(new[] { Member("ann"), Member("bob", PresenceStatus.Away) }));
            Assert.That((roster.MemberCount, roster.IsComplete, roster.PresenceMode), Is.EqualTo((2, true, PresenceModes.Events)));
            Assert.That(harness.Changes.Items.Single().Reset, Is.True);
            Assert.That(harness.Pages.Items, Is.Empty);
        });
    }

    [Test]
    public async Task EventsRoom_JoinLeaveStatus_ListCountAndChangesFollow()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(2, complete: true, Member("ann"), Member("bob")));

        harness.Rosters.UserJoined(new UserPresenceEvent(RoomId, "cid", "CID"));
        harness.Rosters.PresenceChanged(new PresenceChangedEvent(RoomId, "cid", PresenceStatus.Away));
        harness.Rosters.UserLeft(new UserPresenceEvent(RoomId, "ann", "ANN"));
        harness.Rosters.PresenceChanged(new PresenceChangedEvent(RoomId, "nobody", PresenceStatus.Away));
        await harness.IdleAsync();

        var changes = harness.Changes.Items.Skip(1).ToArray();
        var roster = harness.Rosters.Get(RoomId)!;
        Assert.Multiple(() =>
        {
            Assert.That(roster.Members.Keys, Is.EqualTo(new[] { "bob", "cid" }));
            Assert.That(roster.Members["cid"].Status, Is.EqualTo(PresenceStatus.Away));
            Assert.That(roster.MemberCount, Is.EqualTo(2));
            Assert.That(changes.Select(c => c.Roster.MemberCount), Is.EqualTo(new[] { 3, 3, 2 }), "an unlisted user's status changes nothing");
            Assert.That(changes[0].Joined, Is.EqualTo(new[] { Member("cid") }));
            Assert.That(changes[1].Changed, Is.EqualTo(new[] { Member("cid", PresenceStatus.Away) }));
            Assert.That(changes[2].Left, Is.EqualTo(new[] { "ann" }));
        });
    }

    [Test]
    public async Task JoinedAsync_OwnJoinEventBeforeTheResult_CountedOnce_KnownStatusKept()
    {
        var harness = new Harness();
        harness.Rosters.JoinStarting(RoomId);

        // The server announces the join to the room, the joiner included, before it answers.
        harness.Rosters.UserJoined(new UserPresenceEvent(RoomId, "me", "ME"));
        harness.Rosters.UserJoined(new UserPresenceEvent(RoomId, "bob", "BOB"));
        await harness.Rosters.JoinedAsync(RoomId, Result(2, complete: true, Member("me"), Member("bob", PresenceStatus.Away)));

        var roster = harness.Rosters.Get(RoomId)!;
        Assert.Multiple(() =>
        {
            Assert.That(roster.MemberCount, Is.EqualTo(2));
            Assert.That(roster.Members["bob"].Status, Is.EqualTo(PresenceStatus.Away), "UserJoined carries no status: a known one stays");
        });
    }

    [Test]
    public async Task JoinedAsync_IncompleteResult_PagesTheRestInByTheLargestPage()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(3, complete: false, Member("ann")));
        var partial = harness.Rosters.Get(RoomId)!;

        var first = await harness.PageAsync(0);
        first.Answer.SetResult(new MembersPage([Member("ann"), Member("bob")], "bob"));
        var second = await harness.PageAsync(1);
        second.Answer.SetResult(new MembersPage([Member("cid")], null));
        var done = await harness.Changes.WaitAsync(c => c.Roster.IsComplete);

        Assert.Multiple(() =>
        {
            Assert.That((partial.MemberCount, partial.IsComplete), Is.EqualTo((3, false)), "the server's count while paging");
            Assert.That(first.Request, Is.EqualTo(new GetMembersPageRequest(RoomId, null, LargeRoomBounds.MaxPageLimit)));
            Assert.That(second.Request, Is.EqualTo(new GetMembersPageRequest(RoomId, "bob", LargeRoomBounds.MaxPageLimit)));
            Assert.That(done.Roster.Members.Keys, Is.EqualTo(new[] { "ann", "bob", "cid" }));
            Assert.That((done.Roster.MemberCount, done.Reset), Is.EqualTo((3, true)));
            Assert.That(harness.Rosters.Get(RoomId), Is.SameAs(done.Roster));
        });
    }

    [Test]
    public async Task Paging_ChangesMeanwhile_AppliedAgainToThePages()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(3, complete: false, Member("ann")));
        var page = await harness.PageAsync(0);

        // The page was read before these two changes.
        harness.Rosters.UserLeft(new UserPresenceEvent(RoomId, "bob", "BOB"));
        harness.Rosters.UserJoined(new UserPresenceEvent(RoomId, "dan", "DAN"));
        await harness.IdleAsync();
        page.Answer.SetResult(new MembersPage([Member("ann"), Member("bob"), Member("cid")], null));
        var done = await harness.Changes.WaitAsync(c => c.Roster.IsComplete);

        Assert.Multiple(() =>
        {
            Assert.That(done.Roster.Members.Keys, Is.EqualTo(new[] { "ann", "cid", "dan" }));
            Assert.That(done.Roster.MemberCount, Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Digest_NetChanges_AppliedWithTheServersCount()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(30, complete: true, PresenceModes.Digest, Member("ann"), Member("bob"), Member("cid")));

        harness.Rosters.Digest(new PresenceDigestEvent(RoomId, 40, [Member("dan")], ["ann"], [Member("bob", PresenceStatus.Away)], Truncated: false));
        var change = await harness.Changes.WaitAsync(c => !c.Reset);

        Assert.Multiple(() =>
        {
            Assert.That(change.Roster.Members.Values, Is.EqualTo(new[] { Member("bob", PresenceStatus.Away), Member("cid"), Member("dan") }));
            Assert.That(change.Roster.MemberCount, Is.EqualTo(40), "a digest room's count is the server's");
            Assert.That(change.Joined, Is.EqualTo(new[] { Member("dan") }));
            Assert.That(change.Left, Is.EqualTo(new[] { "ann" }));
            Assert.That(change.Changed, Is.EqualTo(new[] { Member("bob", PresenceStatus.Away) }));
            Assert.That(harness.Pages.Items, Is.Empty);
        });
    }

    [Test]
    public async Task TruncatedDigest_PagesIn_AndAgainWhenAnotherCameMeanwhile()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(1, complete: true, PresenceModes.Digest, Member("ann")));

        harness.Rosters.Digest(new PresenceDigestEvent(RoomId, 300, [Member("bob")], [], [], Truncated: true));
        var first = await harness.PageAsync(0);
        var incomplete = harness.Rosters.Get(RoomId)!;
        harness.Rosters.Digest(new PresenceDigestEvent(RoomId, 400, [Member("cid")], [], [], Truncated: true));
        await harness.IdleAsync();
        first.Answer.SetResult(new MembersPage([Member("ann"), Member("bob")], null));
        var second = await harness.PageAsync(1);
        second.Answer.SetResult(new MembersPage([Member("ann"), Member("bob"), Member("cid"), Member("dan")], null));
        var done = await harness.Changes.WaitAsync(c => c.Roster.IsComplete && c.Roster.Members.Count == 4);

        Assert.Multiple(() =>
        {
            Assert.That((incomplete.IsComplete, incomplete.MemberCount), Is.EqualTo((false, 300)));
            Assert.That(incomplete.Members.Keys, Is.EqualTo(new[] { "ann", "bob" }), "what the digest did say is applied at once");
            Assert.That(second.Request.AfterUserId, Is.Null, "paged again from the start");
            Assert.That(done.Roster.MemberCount, Is.EqualTo(400));
            Assert.That(harness.Pages.Items, Has.Count.EqualTo(2));
        });
    }

    [Test]
    public async Task RoomUpdated_SwitchToDigestAndBack_ModeFollows_EventsRoomCountsItsList()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(2, complete: true, Member("ann"), Member("bob")));

        harness.Rosters.RoomUpdated(Room(20, PresenceModes.Digest));
        await harness.IdleAsync();
        var digest = harness.Rosters.Get(RoomId)!;
        harness.Rosters.RoomUpdated(Room(9, PresenceModes.Events));
        await harness.IdleAsync();
        var events = harness.Rosters.Get(RoomId)!;

        Assert.Multiple(() =>
        {
            Assert.That((digest.PresenceMode, digest.MemberCount), Is.EqualTo((PresenceModes.Digest, 20)));
            Assert.That((events.PresenceMode, events.MemberCount), Is.EqualTo((PresenceModes.Events, 2)));
        });
    }

    [Test]
    public async Task Rejoin_StartsOverFromTheNewResult_DropsThePagingOfTheOldOne()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(3, complete: false, Member("ann")));
        var stale = await harness.PageAsync(0);

        harness.Rosters.JoinStarting(RoomId);
        harness.Rosters.UserLeft(new UserPresenceEvent(RoomId, "ann", "ANN"));
        await harness.Rosters.JoinedAsync(RoomId, Result(2, complete: true, Member("ann"), Member("yan")));
        stale.Answer.SetResult(new MembersPage([Member("ann"), Member("bob"), Member("cid")], null));
        harness.Rosters.UserJoined(new UserPresenceEvent(RoomId, "zoe", "ZOE"));
        await harness.Changes.WaitAsync(c => c.Roster.Members.ContainsKey("zoe"));
        await harness.IdleAsync();

        var roster = harness.Rosters.Get(RoomId)!;
        Assert.Multiple(() =>
        {
            Assert.That(roster.Members.Keys, Is.EqualTo(new[] { "yan", "zoe" }), "a leave seen during the rejoin is applied to its result");
            Assert.That((roster.MemberCount, roster.IsComplete), Is.EqualTo((2, true)));
            Assert.That(harness.Pages.Items, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task Forget_RosterGone_LaterEventsIgnored()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(1, complete: true, Member("ann")));

        harness.Rosters.Forget(RoomId);
        var atOnce = harness.Rosters.Get(RoomId);
        harness.Rosters.UserJoined(new UserPresenceEvent(RoomId, "bob", "BOB"));
        await harness.IdleAsync();

        Assert.Multiple(() =>
        {
            Assert.That(atOnce, Is.Null, "gone at once");
            Assert.That(harness.Rosters.Get(RoomId), Is.Null);
            Assert.That(harness.Changes.Items, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task Paging_Failed_StaysIncomplete_NextTruncatedDigestPagesAgain()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(5, complete: false, PresenceModes.Digest, Member("ann")));

        (await harness.PageAsync(0)).Answer.SetException(new HubsException(ErrorCodes.Unavailable, "unavailable: the connection was lost"));
        harness.Rosters.Digest(new PresenceDigestEvent(RoomId, 6, [Member("bob")], [], [], Truncated: true));
        var again = await harness.PageAsync(1);
        var meanwhile = harness.Rosters.Get(RoomId)!;
        again.Answer.SetResult(new MembersPage([Member("ann"), Member("bob"), Member("cid")], null));
        var done = await harness.Changes.WaitAsync(c => c.Roster.IsComplete);

        Assert.Multiple(() =>
        {
            Assert.That(meanwhile.IsComplete, Is.False);
            Assert.That(done.Roster.Members.Keys, Is.EqualTo(new[] { "ann", "bob", "cid" }));
            Assert.That(done.Roster.MemberCount, Is.EqualTo(6));
        });
    }

    [Test]
    public async Task Paging_RateLimited_AsksForTheSamePageAgain()
    {
        var harness = new Harness();
        await harness.JoinAsync(Result(2, complete: false, Member("ann")));

        (await harness.PageAsync(0)).Answer.SetException(new HubsException(ErrorCodes.RateLimited, "rate_limited: slow down"));
        var retry = await harness.PageAsync(1);
        retry.Answer.SetResult(new MembersPage([Member("ann"), Member("bob")], null));
        var done = await harness.Changes.WaitAsync(c => c.Roster.IsComplete);

        Assert.Multiple(() =>
        {
            Assert.That(retry.Request.AfterUserId, Is.Null);
            Assert.That(done.Roster.Members.Keys, Is.EqualTo(new[] { "ann", "bob" }));
        });
    }

    private static MemberInfo Member(string userId, string status = PresenceStatus.Online) =>
        new(userId, userId.ToUpperInvariant(), status);

    private static RoomInfo Room(int memberCount, string mode = PresenceModes.Events) =>
        new(RoomId, RoomId, RoomPermission.Public, "ann", [], 1000, memberCount, DateTimeOffset.UnixEpoch, mode);

    private static JoinRoomResult Result(int memberCount, bool complete, params MemberInfo[] members) =>
        Result(memberCount, complete, PresenceModes.Events, members);

    private static JoinRoomResult Result(int memberCount, bool complete, string mode, params MemberInfo[] members) =>
        new(Room(memberCount, mode), members, 0, complete);

    private sealed record PageCall(GetMembersPageRequest Request, TaskCompletionSource<MembersPage> Answer);

    /// <summary>Rosters on a queue of their own, with <c>GetMembersPage</c> answered by the test, recording every change.</summary>
    private sealed class Harness
    {
        private readonly Lock _gate = new();
        private Task _tail = Task.CompletedTask;

        public Harness()
        {
            var changed = new HandlerList<RosterChangedEvent>(nameof(HubsClient.OnRosterChanged), NullLogger.Instance);
            changed.Add(change =>
            {
                Changes.Add(change);
                return Task.CompletedTask;
            });
            Rosters = new RoomRosters(GetPageAsync, Post, changed, NullLogger.Instance, CancellationToken.None);
        }

        public RoomRosters Rosters { get; }

        public EventRecorder<RosterChangedEvent> Changes { get; } = new();

        public EventRecorder<PageCall> Pages { get; } = new();

        public async Task JoinAsync(JoinRoomResult result)
        {
            Rosters.JoinStarting(RoomId);
            await Rosters.JoinedAsync(RoomId, result).Within();
        }

        /// <summary>The <paramref name="index"/>th page request, once it was made.</summary>
        public async Task<PageCall> PageAsync(int index)
        {
            await Await.UntilAsync(() => Pages.Items.Count > index, $"page request {index + 1} was made");
            return Pages.Items[index];
        }

        /// <summary>Every step queued so far has run.</summary>
        public Task IdleAsync()
        {
            lock (_gate)
            {
                return _tail.Within();
            }
        }

        private void Post(Func<Task> step)
        {
            lock (_gate)
            {
                _tail = _tail.ContinueWith(_ => step(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            }
        }

        private Task<MembersPage> GetPageAsync(GetMembersPageRequest request, CancellationToken cancellationToken)
        {
            var answer = new TaskCompletionSource<MembersPage>(TaskCreationOptions.RunContinuationsAsynchronously);
            Pages.Add(new PageCall(request, answer));
            return answer.Task;
        }
    }
}
