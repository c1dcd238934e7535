namespace Hubs.Server.Rooms;

/// <summary>
/// Rooms, invites and kicks. Every method is one atomic step, so that an implementation over Redis can make each
/// one a single script or transaction.
/// </summary>
internal interface IRoomStore
{
    /// <summary>Stores a new room; false when the id is taken.</summary>
    Task<bool> TryCreateAsync(RoomRecord room, CancellationToken cancellationToken);

    Task<RoomRecord?> GetAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>The room and the grants of one user, read together.</summary>
    Task<(RoomRecord? Room, RoomGrants Grants)> GetWithGrantsAsync(string roomId, string userId, CancellationToken cancellationToken);

    /// <summary>Every room, with the grants of <paramref name="userId"/> in each.</summary>
    Task<IReadOnlyList<(RoomRecord Room, RoomGrants Grants)>> ListAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Replaces the settings of an existing room; false when it no longer exists.</summary>
    Task<bool> TryUpdateAsync(RoomRecord room, CancellationToken cancellationToken);

    /// <summary>Deletes the room with its invites and kicks; false when it did not exist.</summary>
    Task<bool> DeleteAsync(string roomId, CancellationToken cancellationToken);

    /// <summary>Invites a user and lifts a kick, in one step.</summary>
    Task<bool> InviteAsync(string roomId, string userId, CancellationToken cancellationToken);

    /// <summary>Removes an invite; false when the room does not exist.</summary>
    Task<bool> RevokeInviteAsync(string roomId, string userId, CancellationToken cancellationToken);

    /// <summary>Bars a user and drops their invite, in one step.</summary>
    Task<bool> KickAsync(string roomId, string userId, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> GetInvitesAsync(string roomId, CancellationToken cancellationToken);
}
