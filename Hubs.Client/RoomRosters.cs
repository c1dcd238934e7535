using System.Collections.Concurrent;
using Hubs.Contracts;
using Microsoft.Extensions.Logging;

namespace Hubs.Client;

/// <summary>
/// Keeps a <see cref="RoomRoster"/> for every joined room. Every change runs as a step of the delivery queue (the one
/// consumer that also delivers messages), so it keeps its order relative to join results, rejoins and removals; paging
/// <c>GetMembersPage</c> runs beside the queue and hands its result back to it, so neither SignalR's receive loop nor
/// message delivery waits for a room of thousands. Changes seen while a join or a paging is under way are applied
/// again to its result: each is idempotent, so for every user the last word wins.
/// </summary>
internal sealed class RoomRosters(
    Func<GetMembersPageRequest, CancellationToken, Task<MembersPage>> getPage,
    Action<Func<Task>> post,
    HandlerList<RosterChangedEvent> changed,
    ILogger logger,
    CancellationToken stopping)
{
    private static readonly TimeSpan RateLimitedPageDelay = TimeSpan.FromMilliseconds(500);

    // Touched by queue steps only; readers get the published snapshots.
    private readonly Dictionary<string, RoomState> _rooms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RoomRoster> _published = new(StringComparer.Ordinal);

    /// <summary>The room's latest roster; null for a room not joined (or whose join result is not in yet).</summary>
    public RoomRoster? Get(string roomId) => _published.GetValueOrDefault(roomId);

    /// <summary>
    /// A join or rejoin is about to be sent: changes that arrive before its result are kept and applied to it, and a
    /// paging under way for an older result is dropped.
    /// </summary>
    public void JoinStarting(string roomId) => post(() =>
    {
        if (!_rooms.TryGetValue(roomId, out var state))
        {
            _rooms[roomId] = state = new RoomState();
        }

        state.Generation++;
        state.Paging = false;
        state.PageAgain = false;
        state.Replay = [];
        return Task.CompletedTask;
    });

    /// <summary>The join result: the roster starts over from it, and pages the rest in when it was not complete.</summary>
    public Task JoinedAsync(string roomId, JoinRoomResult result)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        post(async () =>
        {
            try
            {
                if (!_rooms.TryGetValue(roomId, out var state))
                {
                    // Removed while the join was on its way.
                    return;
                }

                var list = RosterList.From(result);
                foreach (var change in state.Replay ?? [])
                {
                    change(list);
                }

                state.Replay = null;
                state.List = list;
                if (!list.Complete || state.PageAgain)
                {
                    StartPaging(roomId, state);
                }

                await PublishAsync(roomId, list, reset: true);
            }
            finally
            {
                done.TrySetResult();
            }
        });
        return done.Task;
    }

    /// <summary>The room is no longer followed (left, removed, join refused).</summary>
    public void Forget(string roomId)
    {
        _published.TryRemove(roomId, out _);
        post(() =>
        {
            _rooms.Remove(roomId);
            _published.TryRemove(roomId, out _);
            return Task.CompletedTask;
        });
    }

    public void UserJoined(UserPresenceEvent presence) => Change(presence.RoomId, list => list.Joined(presence));

    public void UserLeft(UserPresenceEvent presence) => Change(presence.RoomId, list => list.Left(presence));

    public void PresenceChanged(PresenceChangedEvent presence) => Change(presence.RoomId, list => list.StatusChanged(presence));

    /// <summary>A digest; a truncated one left out changes, so the members are paged in again.</summary>
    public void Digest(PresenceDigestEvent digest) => Change(digest.RoomId, list => list.Digest(digest), digest.Truncated);

    public void RoomUpdated(RoomInfo room) => Change(room.RoomId, list => list.Updated(room));

    private void Change(string roomId, Action<RosterList> change, bool truncated = false) => post(async () =>
    {
        if (!_rooms.TryGetValue(roomId, out var state))
        {
            return;
        }

        state.Replay?.Add(change);

        // While a join is under way, the change is applied again to its result, which pages in after a truncated digest.
        state.PageAgain |= state.Joining && truncated;
        if (state.List is not { } list)
        {
            return;
        }

        change(list);
        if (truncated && !state.Joining)
        {
            StartPaging(roomId, state);
        }

        await PublishAsync(roomId, list, reset: false);
    });

    private void StartPaging(string roomId, RoomState state)
    {
        state.List!.MarkIncomplete();
        if (state.Paging)
        {
            // The pages under way may have been read before the changes the truncated digest left out.
            state.PageAgain = true;
            return;
        }

        state.Paging = true;
        state.PageAgain = false;
        state.Replay = [];
        var generation = state.Generation;
        _ = Task.Run(() => PageAsync(roomId, generation));
    }

    private async Task PageAsync(string roomId, int generation)
    {
        List<MemberInfo>? members = null;
        try
        {
            members = await ReadAllAsync(roomId);
        }
        catch (Exception error) when (error is HubsException or OperationCanceledException or InvalidOperationException)
        {
            // Disconnected mid-way, most likely: the rejoin after the reconnect starts the roster over.
            ClientLog.RosterPagingFailed(logger, error, roomId);
        }

        post(() => PagedAsync(roomId, generation, members));
    }

    private async Task<List<MemberInfo>> ReadAllAsync(string roomId)
    {
        var members = new List<MemberInfo>();
        string? after = null;
        while (true)
        {
            MembersPage page;
            try
            {
                page = await getPage(new GetMembersPageRequest(roomId, after, LargeRoomBounds.MaxPageLimit), stopping);
            }
            catch (HubsException limited) when (limited.Code == ErrorCodes.RateLimited)
            {
                await Task.Delay(RateLimitedPageDelay, stopping);
                continue;
            }

            members.AddRange(page.Members);
            if (page.NextAfterUserId is null)
            {
                return members;
            }

            after = page.NextAfterUserId;
        }
    }

    private Task PagedAsync(string roomId, int generation, List<MemberInfo>? members)
    {
        if (!_rooms.TryGetValue(roomId, out var state) || state.Generation != generation || state.List is not { } list)
        {
            // Forgotten, or joined again since: that join's result stands.
            return Task.CompletedTask;
        }

        var replay = state.Replay ?? [];
        state.Paging = false;
        state.Replay = null;
        if (members is not null)
        {
            list.Replace(members);
            foreach (var change in replay)
            {
                change(list);
            }
        }

        // A failed paging leaves the list incomplete until the next rejoin or truncated digest pages it in again.
        if (state.PageAgain)
        {
            StartPaging(roomId, state);
        }

        return PublishAsync(roomId, list, reset: members is not null);
    }

    private Task PublishAsync(string roomId, RosterList list, bool reset)
    {
        if (list.TakeChange(reset) is not { } change)
        {
            return Task.CompletedTask;
        }

        _published[roomId] = change.Roster;
        return changed.InvokeAsync(change);
    }

    private sealed class RoomState
    {
        /// <summary>The list; null until the first join result.</summary>
        public RosterList? List { get; set; }

        /// <summary>Changes since the join or the paging under way began, applied again to its result; null when none is.</summary>
        public List<Action<RosterList>>? Replay { get; set; }

        /// <summary>Raised by every join, so that a paging begun for an older result is dropped.</summary>
        public int Generation { get; set; }

        public bool Paging { get; set; }

        /// <summary>A join's result is awaited (changes are kept for it, and no paging runs).</summary>
        public bool Joining => Replay is not null && !Paging;

        /// <summary>A truncated digest came while a join or a paging was under way: page again after it.</summary>
        public bool PageAgain { get; set; }
    }
}
