using Hubs.Contracts;
using Hubs.Server.Audit;
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
    RoomAdministration administration,
    AuditTrail audit,
    ConnectionDeparture departure,
    LocalConnections localConnections,
    TypingThrottle typing,
    PresenceAnnouncer announcer,
    NodeDrain drain,
    TimeProvider time,
    IOptions<LimitsOptions> limits,
    IOptions<PresenceOptions> presenceOptions) : Hub<IRoomClient>, IRoomHub
{
    private const int DefaultHistoryLimit = 100;

    private HubsUser Caller => invocation.User;

    private CancellationToken Aborted => Context.ConnectionAborted;

    [RoomAction(RoomAction.None)]
    public Task<RoomInfo> CreateRoom(CreateRoomRequest request) =>
        Audited(nameof(CreateRoom), request.RoomId, null, () => administration.CreateAsync(request, Caller.UserId, Aborted));

    [RoomAction(RoomAction.View)]
    public async Task<RoomInfo> GetRoom(string roomId) =>
        invocation.Size is { } size ? invocation.Room.ToInfo(size) : await InfoAsync(invocation.Room);

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
    public Task<RoomInfo> UpdateRoom(UpdateRoomRequest request) =>
        Audited(nameof(UpdateRoom), request.RoomId, null, () => administration.UpdateAsync(invocation.Room, request, Aborted));

    [RoomAction(RoomAction.Manage)]
    public Task DeleteRoom(string roomId) => Audited(nameof(DeleteRoom), roomId, null, () => administration.DeleteAsync(roomId, Aborted));

    [RoomAction(RoomAction.Manage)]
    public Task InviteUser(string roomId, string userId) =>
        Audited(nameof(InviteUser), roomId, userId, () => Done(administration.InviteAsync(roomId, userId, Aborted)));

    [RoomAction(RoomAction.Manage)]
    public Task RevokeInvite(string roomId, string userId) =>
        Audited(nameof(RevokeInvite), roomId, userId, () => Done(administration.RevokeInviteAsync(roomId, userId, Aborted)));

    [RoomAction(RoomAction.Manage)]
    public Task<IReadOnlyList<string>> GetInvites(string roomId) => rooms.GetInvitesAsync(roomId, Aborted);

    [RoomAction(RoomAction.Manage)]
    public Task KickUser(string roomId, string userId) =>
        Audited(nameof(KickUser), roomId, userId, () => Done(administration.KickAsync(invocation.Room, userId, Aborted)));

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

        // Also when already joined: a join whose answer was lost (Redis went away after its script ran) left the
        // connection in presence but out of the group, and the retry completes it (T27). Adding again is a no-op.
        var group = RoomGroups.For(roomId);
        await Groups.AddToGroupAsync(Context.ConnectionId, group, Aborted);

        // Read after joining the group: anything newer than this arrives live, anything older is history. Bounded, so a
        // join into a room of 10,000 reads no more than one into a room of 10; the three reads go out together.
        var lastSequence = messages.GetLastSequenceAsync(roomId, Aborted);
        var members = presence.GetJoinMembersAsync(roomId, presenceOptions.Value.JoinMembersLimit, Aborted);
        if (outcome.Status == JoinStatus.Joined)
        {
            // Access may have changed since the filter decided: the change either sees this connection in presence
            // and evicts it, or this second look sees the change. Either way nobody stays in a room they lost.
            var (current, grants) = await rooms.GetWithGrantsAsync(roomId, Caller.UserId, Aborted);
            if (current is null || !RoomAccess.CanJoin(current, Caller, grants))
            {
                // Nobody heard of this join yet, so its undo is silent too (a switch of mode it caused is not).
                await Settled(lastSequence, members);
                var undo = await presence.LeaveAsync(roomId, Context.ConnectionId, CancellationToken.None);
                await Groups.RemoveFromGroupAsync(Context.ConnectionId, group, CancellationToken.None);
                await announcer.LeftAsync(roomId, undo, announceUser: false, CancellationToken.None);
                if (current is not null)
                {
                    await announcer.JoinUndoneAsync(roomId, outcome, current, CancellationToken.None);
                }

                throw HubsErrorException.RoomNotFound();
            }

            room = current;
            await announcer.JoinedAsync(roomId, Caller, outcome, room, Aborted);
        }

        var first = await members;
        return new JoinRoomResult(room.ToInfo(first.Size), first.Members, await lastSequence, first.Complete);
    }

    [RoomAction(RoomAction.Leave)]
    public Task LeaveRoom(string roomId) => LeaveAsync(roomId, Aborted);

    [RoomAction(RoomAction.Send)]
    [SpendsMessageBudget]
    public async Task<SendMessageResult> SendMessage(SendMessageRequest request)
    {
        var draft = new MessageDraft(Caller.UserId, Caller.DisplayName, request.Text, time.GetUtcNow(), request.ClientMessageId);
        var message = await publisher.PublishAsync(request.RoomId, draft, Context.ConnectionId, invocation.SendTurn, Aborted);
        return new SendMessageResult(message.RoomId, message.Sequence, message.SentAt);
    }

    [RoomAction(RoomAction.Send)]
    public async Task Typing(string roomId)
    {
        if (!typing.TryEnter(roomId, Caller.UserId))
        {
            return;
        }

        // The typist's own connections (a handful, wherever they are) are left out; a digest room forwards a few typists
        // a second at most. Nothing here reads the room's members.
        var admission = await presence.AdmitTypingAsync(roomId, Caller.UserId, Aborted);
        if (admission.Forward)
        {
            await Clients.GroupExcept(RoomGroups.For(roomId), admission.TypistConnections).UserTyping(new UserTypingEvent(roomId, Caller.UserId));
        }
    }

    [RoomAction(RoomAction.None)]
    public async Task SetStatus(string status)
    {
        var outcome = await presence.SetStatusAsync(Caller.UserId, status, Aborted);
        await announcer.StatusAsync(Caller.UserId, status, outcome);
    }

    [RoomAction(RoomAction.ReadJoined)]
    public async Task<IReadOnlyList<MemberInfo>> GetMembers(string roomId)
    {
        var size = invocation.Size ?? await presence.GetSizeAsync(roomId, Aborted);
        if (size.Digest)
        {
            throw new HubsErrorException(ErrorCodes.InvalidArgument, "this room is too large to list at once: use GetMembersPage");
        }

        return await presence.GetMembersAsync(roomId, Aborted);
    }

    [RoomAction(RoomAction.ReadJoined)]
    public Task<MembersPage> GetMembersPage(GetMembersPageRequest request) =>
        presence.GetMembersPageAsync(request.RoomId, request.AfterUserId, request.Limit ?? LargeRoomBounds.DefaultPageLimit, Aborted);

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
            else
            {
                localConnections.Present(Context.ConnectionId);
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

        localConnections.Departing(Context.ConnectionId);
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

    private async Task LeaveAsync(string roomId, CancellationToken cancellationToken)
    {
        var outcome = await presence.LeaveAsync(roomId, Context.ConnectionId, cancellationToken);

        // Also when it was not in the room's presence: a leave whose answer was lost (Redis went away after its script
        // ran) left the connection in the group, receiving, and the retry takes it out (T27). Removing again is a no-op.
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, RoomGroups.For(roomId), cancellationToken);
        await announcer.LeftAsync(roomId, outcome, announceUser: true, cancellationToken);
    }

    private Task<RoomInfo> InfoAsync(RoomRecord room) => administration.InfoAsync(room, Aborted);

    /// <summary>An owner action: one audit record with its outcome (a refusal's is the hub filter's, under the caller's ref id).</summary>
    private async Task<T> Audited<T>(string action, string roomId, string? target, Func<Task<T>> run)
    {
        invocation.OwnerAction = (action, roomId, target);
        var result = await run();
        await audit.OkAsync(Caller.UserId, AuditVia.Hub, action, roomId, target);
        return result;
    }

    /// <summary>Reads started for an answer that is not going to be given: awaited, so that a failed one is observed.</summary>
    private static async Task Settled(params Task[] reads)
    {
        try
        {
            await Task.WhenAll(reads);
        }
        catch (HubsErrorException)
        {
            // Already logged by the gateway; the join is refused anyway.
        }
    }

    private static async Task<bool> Done(Task action)
    {
        await action;
        return true;
    }
}
