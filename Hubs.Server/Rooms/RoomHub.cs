using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Lifecycle;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Rooms;

/// <summary>
/// The room hub. <see cref="RoomHubFilter"/> has authenticated the caller, validated the arguments and decided the
/// declared <see cref="RoomAction"/> before any method here runs; methods call the services and return the DTO.
/// </summary>
internal sealed class RoomHub(
    RoomInvocation invocation,
    IRoomStore rooms,
    IPresenceTracker presence,
    IRoomMessageLog messages,
    RoomMessagePublisher publisher,
    RoomEvictions evictions,
    ConnectionDeparture departure,
    LocalConnections localConnections,
    TypingThrottle typing,
    NodeDrain drain,
    TimeProvider time,
    IOptions<LimitsOptions> limits) : Hub<IRoomClient>, IRoomHub
{
    private const int DefaultHistoryLimit = 100;

    private HubsUser Caller => invocation.User;

    private CancellationToken Aborted => Context.ConnectionAborted;

    [RoomAction(RoomAction.None)]
    public async Task<RoomInfo> CreateRoom(CreateRoomRequest request)
    {
        var room = new RoomRecord(
            request.RoomId,
            request.DisplayName ?? request.RoomId,
            request.Permission,
            Caller.UserId,
            request.AllowedRoles?.Distinct(StringComparer.Ordinal).ToArray() ?? [],
            request.MaxMembers ?? limits.Value.DefaultMaxMembers,
            time.GetUtcNow());
        if (!await rooms.TryCreateAsync(room, Aborted))
        {
            throw new HubsErrorException(ErrorCodes.Conflict, "a room with this id already exists");
        }

        return room.ToInfo(0);
    }

    [RoomAction(RoomAction.View)]
    public async Task<RoomInfo> GetRoom(string roomId) => await InfoAsync(invocation.Room);

    [RoomAction(RoomAction.None)]
    public async Task<IReadOnlyList<RoomInfo>> ListRooms()
    {
        var all = await rooms.ListAsync(Caller.UserId, Aborted);
        var visible = new List<RoomInfo>();
        foreach (var (room, grants) in all.OrderBy(r => r.Room.RoomId, StringComparer.Ordinal))
        {
            if (RoomAccess.CanJoin(room, Caller, grants))
            {
                visible.Add(await InfoAsync(room));
            }
        }

        return visible;
    }

    [RoomAction(RoomAction.Manage)]
    public async Task<RoomInfo> UpdateRoom(UpdateRoomRequest request)
    {
        var current = invocation.Room;
        var updated = current with
        {
            DisplayName = request.DisplayName ?? current.DisplayName,
            Permission = request.Permission ?? current.Permission,
            AllowedRoles = request.AllowedRoles?.Distinct(StringComparer.Ordinal).ToArray() ?? current.AllowedRoles,
            MaxMembers = request.MaxMembers ?? current.MaxMembers,
        };
        if (!await rooms.TryUpdateAsync(updated, Aborted))
        {
            throw HubsErrorException.RoomNotFound();
        }

        // Remove those who lost access before anyone hears of the change.
        await evictions.EvictUnauthorizedAsync(updated.RoomId, userId: null, Aborted);
        var info = await InfoAsync(updated);
        await Clients.Group(RoomGroups.For(updated.RoomId)).RoomUpdated(info);
        return info;
    }

    [RoomAction(RoomAction.Manage)]
    public async Task DeleteRoom(string roomId)
    {
        if (await rooms.DeleteAsync(roomId, Aborted))
        {
            await messages.DeleteAsync(roomId, Aborted);
            await evictions.EvictAllAsync(roomId, RemovalReasons.Deleted, Aborted);
        }
    }

    [RoomAction(RoomAction.Manage)]
    public async Task InviteUser(string roomId, string userId)
    {
        if (!await rooms.InviteAsync(roomId, userId, Aborted))
        {
            throw HubsErrorException.RoomNotFound();
        }
    }

    [RoomAction(RoomAction.Manage)]
    public async Task RevokeInvite(string roomId, string userId)
    {
        if (!await rooms.RevokeInviteAsync(roomId, userId, Aborted))
        {
            throw HubsErrorException.RoomNotFound();
        }

        await evictions.EvictUnauthorizedAsync(roomId, userId, Aborted);
    }

    [RoomAction(RoomAction.Manage)]
    public Task<IReadOnlyList<string>> GetInvites(string roomId) => rooms.GetInvitesAsync(roomId, Aborted);

    [RoomAction(RoomAction.Manage)]
    public async Task KickUser(string roomId, string userId)
    {
        if (userId == invocation.Room.OwnerId)
        {
            throw HubsErrorException.InvalidArgument("the owner cannot be kicked");
        }

        if (!await rooms.KickAsync(roomId, userId, Aborted))
        {
            throw HubsErrorException.RoomNotFound();
        }

        await evictions.EvictUserAsync(roomId, userId, RemovalReasons.Kicked, Aborted);
    }

    [RoomAction(RoomAction.Join)]
    public async Task<JoinRoomResult> JoinRoom(string roomId)
    {
        var room = invocation.Room;
        var outcome = await presence.JoinAsync(roomId, Context.ConnectionId, Caller, room.MaxMembers, limits.Value.MaxRoomsPerConnection, Aborted);
        switch (outcome.Status)
        {
            case JoinStatus.RoomFull:
                throw new HubsErrorException(ErrorCodes.RoomFull, "the room is full");
            case JoinStatus.TooManyRooms:
                throw new HubsErrorException(ErrorCodes.RateLimited, "this connection is in too many rooms");
        }

        var group = RoomGroups.For(roomId);
        if (outcome.Status == JoinStatus.Joined)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, group, Aborted);

            // Access may have changed since the filter decided: the change either sees this connection in presence
            // and evicts it, or this second look sees the change. Either way nobody stays in a room they lost.
            var (current, grants) = await rooms.GetWithGrantsAsync(roomId, Caller.UserId, Aborted);
            if (current is null || !RoomAccess.CanJoin(current, Caller, grants))
            {
                // Nobody heard of this join yet, so its undo is silent too.
                await LeaveAsync(roomId, announce: false, Aborted);
                throw HubsErrorException.RoomNotFound();
            }

            room = current;
            if (outcome.FirstOfUser)
            {
                await Clients.Group(group).UserJoined(new UserPresenceEvent(roomId, Caller.UserId, Caller.DisplayName));
            }
        }

        // Read after joining the group: anything newer than this arrives live, anything older is history.
        var lastSequence = await messages.GetLastSequenceAsync(roomId, Aborted);
        var members = await presence.GetMembersAsync(roomId, Aborted);
        return new JoinRoomResult(room.ToInfo(members.Count), members, lastSequence);
    }

    [RoomAction(RoomAction.Leave)]
    public Task LeaveRoom(string roomId) => LeaveAsync(roomId, announce: true, Aborted);

    [RoomAction(RoomAction.Send)]
    [SpendsMessageBudget]
    public async Task<SendMessageResult> SendMessage(SendMessageRequest request)
    {
        var draft = new MessageDraft(Caller.UserId, Caller.DisplayName, request.Text, time.GetUtcNow(), request.ClientMessageId);
        var message = await publisher.PublishAsync(request.RoomId, draft, Aborted);
        return new SendMessageResult(message.RoomId, message.Sequence, message.SentAt);
    }

    [RoomAction(RoomAction.Send)]
    public async Task Typing(string roomId)
    {
        if (!typing.TryEnter(roomId, Caller.UserId))
        {
            return;
        }

        var entries = await presence.GetConnectionsAsync(roomId, Aborted);
        var typist = entries.Where(e => e.User.UserId == Caller.UserId).Select(e => e.ConnectionId).ToArray();
        await Clients.GroupExcept(RoomGroups.For(roomId), typist).UserTyping(new UserTypingEvent(roomId, Caller.UserId));
    }

    [RoomAction(RoomAction.None)]
    public async Task SetStatus(string status)
    {
        var joined = await presence.SetStatusAsync(Caller.UserId, status, Aborted);
        foreach (var roomId in joined)
        {
            await Clients.Group(RoomGroups.For(roomId)).PresenceChanged(new PresenceChangedEvent(roomId, Caller.UserId, status));
        }
    }

    [RoomAction(RoomAction.ReadJoined)]
    public Task<IReadOnlyList<MemberInfo>> GetMembers(string roomId) => presence.GetMembersAsync(roomId, Aborted);

    [RoomAction(RoomAction.ReadJoined)]
    public Task<IReadOnlyList<RoomMessage>> GetHistory(GetHistoryRequest request) =>
        messages.ReadAsync(request.RoomId, request.AfterSequence, request.Limit ?? DefaultHistoryLimit, Aborted);

    public override async Task OnConnectedAsync()
    {
        var user = (HubsUser)Context.Items[typeof(HubsUser)]!;

        // Known locally before it exists in shared presence, so reconciliation never mistakes it for stale.
        localConnections.Add(Context.ConnectionId, user.UserId);
        string? refusal = null;
        try
        {
            // Not cancelled when the client leaves at once: the disconnect that follows undoes exactly this.
            if (!await presence.ConnectAsync(Context.ConnectionId, user, limits.Value.MaxConnectionsPerUser, CancellationToken.None))
            {
                refusal = $"{ErrorCodes.RateLimited}: too many connections for this user";
            }
        }
        catch (HubsErrorException error)
        {
            refusal = $"{error.Code}: {error.SafeText}";
        }

        if (refusal is not null)
        {
            // Closes the connection at once; the close error carries "HubException: <code>: …".
            localConnections.Remove(Context.ConnectionId);
            Context.Items.Remove(typeof(HubsUser));
            throw new HubException(refusal);
        }
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items[typeof(HubsUser)] is not HubsUser user)
        {
            return;
        }

        if (drain.IsHandedOff(Context.ConnectionId))
        {
            // Closed by a drain: its presence stays (and stays local, so this node does not reap it) until a survivor
            // reaps it after the presence timeout. A user who reconnects elsewhere by then never leaves the room.
            return;
        }

        try
        {
            // The connection is gone: its cleanup must finish regardless of ConnectionAborted.
            await departure.DepartAsync(Context.ConnectionId, user.UserId, CancellationToken.None);
        }
        catch (HubsErrorException)
        {
            // Shared state is unreachable (already logged); reconciliation removes the entries once it is back.
        }
        finally
        {
            localConnections.Remove(Context.ConnectionId);
        }
    }

    private async Task LeaveAsync(string roomId, bool announce, CancellationToken cancellationToken)
    {
        var outcome = await presence.LeaveAsync(roomId, Context.ConnectionId, cancellationToken);
        if (!outcome.Removed)
        {
            return;
        }

        var group = RoomGroups.For(roomId);
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, group, cancellationToken);
        if (announce && outcome.LastOfUser && outcome.User is { } user)
        {
            typing.Forget(roomId, user.UserId);
            await Clients.Group(group).UserLeft(new UserPresenceEvent(roomId, user.UserId, user.DisplayName));
        }
    }

    private async Task<RoomInfo> InfoAsync(RoomRecord room) => room.ToInfo(await presence.CountMembersAsync(room.RoomId, Aborted));
}
