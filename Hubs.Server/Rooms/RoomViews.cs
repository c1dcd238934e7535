namespace Hubs.Server.Rooms;

/// <summary>
/// What a room call is decided on: the room (null when there is none), the caller's grants in it, and its member count
/// and presence mode where they came with the read for free.
/// </summary>
internal sealed record RoomView(RoomRecord? Room, RoomGrants Grants, int? MemberCount, bool Digest = false);

/// <summary>
/// Room reads for deciding that a call may go ahead. A view may be a moment old on a node that has not yet heard of a
/// change made on another; that is safe only for allowing: every change that takes access away evicts the affected
/// connections before it answers, and whoever refuses (the hub filter) or changes something reads
/// <see cref="IRoomStore"/> itself.
/// </summary>
internal interface IRoomViews
{
    ValueTask<RoomView> GetAsync(string roomId, string userId, CancellationToken cancellationToken);
}

/// <summary>Single node: the in-process stores, always current.</summary>
internal sealed class StoreRoomViews(IRoomStore rooms) : IRoomViews
{
    public async ValueTask<RoomView> GetAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        var (room, grants) = await rooms.GetWithGrantsAsync(roomId, userId, cancellationToken);
        return new RoomView(room, grants, MemberCount: null);
    }
}
