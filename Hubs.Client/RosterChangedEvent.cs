using Hubs.Contracts;

namespace Hubs.Client;

/// <summary>
/// Raised by <see cref="HubsClient"/> when a joined room's <see cref="RoomRoster"/> changed: its member list, count,
/// presence mode or completeness. The lists hold what changed in the client's list by this step.
/// </summary>
/// <param name="Roster">The room's roster after the change.</param>
/// <param name="Joined">Members added to the list.</param>
/// <param name="Left">Ids of members taken off the list.</param>
/// <param name="Changed">Listed members whose status changed, with the new status.</param>
/// <param name="Reset">
/// True when the list was replaced whole (a join, the rejoin after a reconnect, or paging the members in); the three
/// lists are then empty.
/// </param>
public sealed record RosterChangedEvent(
    RoomRoster Roster,
    IReadOnlyList<MemberInfo> Joined,
    IReadOnlyList<string> Left,
    IReadOnlyList<MemberInfo> Changed,
    bool Reset);
