using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Rooms;

/// <summary>
/// The owner actions, one implementation for the hub (the owner calling) and the admin API (a backend calling): every
/// change that takes access away evicts the affected connections before anyone hears of it. The caller has already
/// been authorized; these only act.
/// </summary>
internal sealed class RoomAdministration(
    IRoomStore rooms,
    IRoomMessageLog messages,
    IPresenceTracker presence,
    RoomEvictions evictions,
    IHubContext<RoomHub, IRoomClient> hub,
    TimeProvider time,
    IOptions<LimitsOptions> limits)
{
    public async Task<RoomInfo> CreateAsync(CreateRoomRequest request, string ownerId, CancellationToken cancellationToken)
    {
        var room = new RoomRecord(
            request.RoomId,
            request.DisplayName ?? request.RoomId,
            request.Permission,
            ownerId,
            request.AllowedRoles?.Distinct(StringComparer.Ordinal).ToArray() ?? [],
            request.MaxMembers ?? limits.Value.DefaultMaxMembers,
            time.GetUtcNow());
        if (!await rooms.TryCreateAsync(room, cancellationToken))
        {
            throw new HubsErrorException(ErrorCodes.Conflict, "a room with this id already exists");
        }

        return room.ToInfo(0);
    }

    public async Task<RoomInfo> UpdateAsync(RoomRecord current, UpdateRoomRequest request, CancellationToken cancellationToken)
    {
        var updated = current with
        {
            DisplayName = request.DisplayName ?? current.DisplayName,
            Permission = request.Permission ?? current.Permission,
            AllowedRoles = request.AllowedRoles?.Distinct(StringComparer.Ordinal).ToArray() ?? current.AllowedRoles,
            MaxMembers = request.MaxMembers ?? current.MaxMembers,
        };
        if (!await rooms.TryUpdateAsync(updated, cancellationToken))
        {
            throw HubsErrorException.RoomNotFound();
        }

        // Remove those who lost access before anyone hears of the change.
        await evictions.EvictUnauthorizedAsync(updated.RoomId, userId: null, cancellationToken);
        var info = await InfoAsync(updated, cancellationToken);
        await hub.Clients.Group(RoomGroups.For(updated.RoomId)).RoomUpdated(info);
        return info;
    }

    /// <summary>Deletes the room and its history, and removes its members (reason <c>deleted</c>); false when there was none.</summary>
    public async Task<bool> DeleteAsync(string roomId, CancellationToken cancellationToken)
    {
        if (!await rooms.DeleteAsync(roomId, cancellationToken))
        {
            return false;
        }

        await messages.DeleteAsync(roomId, cancellationToken);
        await evictions.EvictAllAsync(roomId, RemovalReasons.Deleted, cancellationToken);
        return true;
    }

    public async Task InviteAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        if (!await rooms.InviteAsync(roomId, userId, cancellationToken))
        {
            throw HubsErrorException.RoomNotFound();
        }
    }

    public async Task RevokeInviteAsync(string roomId, string userId, CancellationToken cancellationToken)
    {
        if (!await rooms.RevokeInviteAsync(roomId, userId, cancellationToken))
        {
            throw HubsErrorException.RoomNotFound();
        }

        await evictions.EvictUnauthorizedAsync(roomId, userId, cancellationToken);
    }

    public async Task KickAsync(RoomRecord room, string userId, CancellationToken cancellationToken)
    {
        if (userId == room.OwnerId)
        {
            throw HubsErrorException.InvalidArgument("the owner cannot be kicked");
        }

        if (!await rooms.KickAsync(room.RoomId, userId, cancellationToken))
        {
            throw HubsErrorException.RoomNotFound();
        }

        await evictions.EvictUserAsync(room.RoomId, userId, RemovalReasons.Kicked, cancellationToken);
    }

    public async Task<RoomInfo> InfoAsync(RoomRecord room, CancellationToken cancellationToken) =>
        room.ToInfo(await presence.GetSizeAsync(room.RoomId, cancellationToken));
}
