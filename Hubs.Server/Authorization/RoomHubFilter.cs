using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Hubs.Contracts;
using Hubs.Server.Audit;
using Hubs.Server.Lifecycle;
using Hubs.Server.Presence;
using Hubs.Server.RateLimiting;
using Hubs.Server.Rooms;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Authorization;

/// <summary>
/// The one policy point for every hub invocation and connect: authentication and token expiry, argument
/// validation, the room decision declared by <see cref="RoomActionAttribute"/>, and the mapping of failures to
/// <c>HubException("&lt;code&gt;: &lt;text&gt; (ref &lt;id&gt;)")</c>. Denies by default (T5).
/// </summary>
internal sealed partial class RoomHubFilter(
    HubArgumentRules rules,
    IRoomStore rooms,
    IRoomViews views,
    IPresenceTracker presence,
    InvocationRateLimiter invocations,
    NodeDrain drain,
    AuditTrail audit,
    HubsMetrics metrics,
    TimeProvider time,
    ILogger<RoomHubFilter> logger) : IHubFilter
{
    // What each hub method declares, read once per method rather than by reflection on every call.
    private static readonly ConcurrentDictionary<MethodInfo, MethodPolicy> Policies = new();

    public async ValueTask<object?> InvokeMethodAsync(
        HubInvocationContext invocationContext,
        Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var method = invocationContext.HubMethodName;
        using var activity = HubsMetrics.ActivitySource.StartActivity($"RoomHub/{method}");
        RoomInvocation? invocation = null;
        try
        {
            // Once a drain is closing the connection, new calls are refused; the ones already running are answered first.
            drain.ThrowIfClosing(invocationContext.Context.ConnectionId);
            var user = AuthenticatedUser(invocationContext.Context);
            ThrottleInvocations(invocationContext.Context);
            var policy = Policies.GetOrAdd(invocationContext.HubMethod, MethodPolicy.Of);
            rules.Validate(policy.Parameters, invocationContext.HubMethodArguments);

            invocation = invocationContext.ServiceProvider.GetRequiredService<RoomInvocation>();
            invocation.User = user;
            var result = policy.SpendsMessageBudget
                ? await SendAsync(invocationContext, next, invocation, policy.Parameters, user)
                : await ExclusiveAsync(invocationContext, next, invocation, policy, user);
            metrics.Invocation(method, "ok");
            return result;
        }
        catch (HubsErrorException refusal)
        {
            var refId = RefIds.New();
            var actor = HubsUser.From(invocationContext.Context.User)?.UserId ?? "anonymous";
            if (invocation?.OwnerAction is var (action, actionRoomId, actionTarget))
            {
                // An owner action the hub ran and its service refused: its one record, under the caller's reference id.
                await audit.RefusedAsync(actor, AuditVia.Hub, action, actionRoomId, actionTarget, refusal.Code, refId);
            }
            else if (refusal.Code is ErrorCodes.Unauthenticated or ErrorCodes.Forbidden or ErrorCodes.NotFound)
            {
                // An authorization denial: one audit record, under the reference id the caller gets.
                var (roomId, target) = Subject(invocationContext);
                await audit.RefusedAsync(actor, AuditVia.Hub, method, roomId, target, refusal.Code, refId);
            }

            throw Refuse(refusal, refId, method, invocationContext.Context.ConnectionId, activity);
        }
        catch (OperationCanceledException) when (invocationContext.Context.ConnectionAborted.IsCancellationRequested)
        {
            // The caller went away mid-call: nobody is waiting for an answer, and it is no server failure.
            Log.InvocationAbandoned(logger, method, invocationContext.Context.ConnectionId);
            metrics.Invocation(method, "abandoned");
            throw new HubException($"{ErrorCodes.Unavailable}: the connection closed");
        }
        catch (Exception exception)
        {
            var refId = RefIds.New();
            Log.InvocationFailed(logger, exception, refId, method, invocationContext.Context.ConnectionId);
            metrics.Invocation(method, ErrorCodes.Internal);
            activity?.SetStatus(ActivityStatusCode.Error);
            throw new HubException($"{ErrorCodes.Internal}: the request could not be completed (ref {refId})");
        }
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var user = HubsUser.From(context.Context.User);
        if (user is null || user.IsExpired(time.GetUtcNow()))
        {
            metrics.Denied(ErrorCodes.Unauthenticated);
            Log.ConnectRefused(logger, context.Context.ConnectionId);
            throw new HubException($"{ErrorCodes.Unauthenticated}: authentication required");
        }

        context.Context.Items[typeof(HubsUser)] = user;
        ConnectionInvocations.Attach(context.Context);
        await next(context);
        metrics.ConnectionOpened();
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        if (!context.Context.Items.ContainsKey(typeof(HubsUser)))
        {
            return;
        }

        try
        {
            await next(context, exception);
        }
        finally
        {
            metrics.ConnectionClosed();
        }
    }

    private HubsUser AuthenticatedUser(HubCallerContext context)
    {
        // The user is read once on connect; expiry is checked on every call because the close on expiry is
        // asynchronous and an invocation must never run on an expired token (T3).
        if (context.Items.TryGetValue(typeof(HubsUser), out var value) && value is HubsUser user && !user.IsExpired(time.GetUtcNow()))
        {
            return user;
        }

        throw HubsErrorException.Unauthenticated();
    }

    /// <summary>Every invocation spends a token of the connection's bucket (T13).</summary>
    private void ThrottleInvocations(HubCallerContext context)
    {
        if (!invocations.TryAdmit(context.ConnectionId, context.Items, context.Abort))
        {
            throw new HubsErrorException(ErrorCodes.RateLimited, InvocationRateLimiter.RefusalText);
        }
    }

    /// <summary>
    /// A send: its admission (membership, which implies access, and the message budget) is part of its append, one
    /// atomic step issued before anything on its path awaits, so a connection's sends that overlap are stored in the
    /// order they arrived, and its turn keeps their broadcasts in that order.
    /// </summary>
    private async ValueTask<object?> SendAsync(
        HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next, RoomInvocation invocation, ParameterInfo[] parameters, HubsUser user)
    {
        var turn = ConnectionInvocations.Of(invocationContext.Context).NextSend();
        invocation.SendTurn = turn;
        try
        {
            // Completed at once unless a call that runs alone came just before (or the previous send waits for one).
            await turn.MayAppend.WaitAsync(invocationContext.Context.ConnectionAborted);
            return await next(invocationContext);
        }
        catch (SendRefusedException refused)
        {
            throw await SendRefusalAsync(invocationContext, parameters, user, refused.Admission);
        }
        finally
        {
            turn.Complete();
        }
    }

    /// <summary>Any other call: alone among the connection's calls, after everything before it, then its room decision.</summary>
    private async ValueTask<object?> ExclusiveAsync(
        HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next, RoomInvocation invocation, MethodPolicy policy, HubsUser user)
    {
        var turn = ConnectionInvocations.Of(invocationContext.Context).NextExclusive();
        try
        {
            await turn.Ready.WaitAsync(invocationContext.Context.ConnectionAborted);
            if (policy.Action != RoomAction.None)
            {
                await AuthorizeRoomAsync(invocationContext, invocation, policy.Parameters, user, policy.Action);
            }

            return await next(invocationContext);
        }
        finally
        {
            turn.Complete();
        }
    }

    /// <summary>
    /// The answer to a send its append did not admit. Only a refusal reads the room, to answer not_found for a room
    /// the caller cannot see and forbidden for one it has not joined.
    /// </summary>
    private async Task<HubsErrorException> SendRefusalAsync(HubInvocationContext invocationContext, ParameterInfo[] parameters, HubsUser user, SendAdmission admission)
    {
        if (admission == SendAdmission.RateLimited)
        {
            return new HubsErrorException(ErrorCodes.RateLimited, "too many messages in this room, slow down");
        }

        var roomId = RoomIdOf(invocationContext, parameters);
        var (room, grants) = await rooms.GetWithGrantsAsync(roomId, user.UserId, invocationContext.Context.ConnectionAborted);
        return RoomAccess.Decide(room, user, grants, connectionJoined: false, RoomAction.Send) == AccessDecision.NotFound
            ? HubsErrorException.RoomNotFound()
            : HubsErrorException.Forbidden("join the room first");
    }

    /// <summary>
    /// Decides a room action. An allowed action may be decided on the node's view of the room; owner actions, and any
    /// refusal, are decided on the room as stored, so a view a moment old can neither refuse wrongly nor change a room.
    /// </summary>
    private async Task AuthorizeRoomAsync(HubInvocationContext invocationContext, RoomInvocation invocation, ParameterInfo[] parameters, HubsUser user, RoomAction action)
    {
        var roomId = RoomIdOf(invocationContext, parameters);
        var context = invocationContext.Context;
        if (action != RoomAction.Manage)
        {
            var view = await views.GetAsync(roomId, user.UserId, context.ConnectionAborted);
            if (await DecideAsync(view.Room, view.Grants) == AccessDecision.Allow)
            {
                invocation.Room = view.Room!;
                invocation.Size = view.MemberCount is { } members ? new RoomSize(members, view.Digest) : null;
                return;
            }
        }

        var (room, grants) = await rooms.GetWithGrantsAsync(roomId, user.UserId, context.ConnectionAborted);
        switch (await DecideAsync(room, grants))
        {
            case AccessDecision.Allow:
                invocation.Room = room!;
                return;
            case AccessDecision.Forbidden:
                throw HubsErrorException.Forbidden(action == RoomAction.Manage ? "only the room owner may do this" : "join the room first");
            default:
                throw HubsErrorException.RoomNotFound();
        }

        async ValueTask<AccessDecision> DecideAsync(RoomRecord? candidate, RoomGrants candidateGrants)
        {
            var joined = action is RoomAction.Send or RoomAction.ReadJoined && candidate is not null
                && await presence.IsJoinedAsync(roomId, context.ConnectionId, context.ConnectionAborted);
            return RoomAccess.Decide(candidate, user, candidateGrants, joined, action);
        }
    }

    /// <summary>The room and the user a call was about, as far as its arguments say; for the audit record of a denial.</summary>
    private static (string? RoomId, string? TargetUserId) Subject(HubInvocationContext invocationContext)
    {
        var parameters = Policies.TryGetValue(invocationContext.HubMethod, out var policy) ? policy.Parameters : invocationContext.HubMethod.GetParameters();
        string? roomId = null;
        string? target = null;
        for (var i = 0; i < parameters.Length && i < invocationContext.HubMethodArguments.Count; i++)
        {
            switch (invocationContext.HubMethodArguments[i])
            {
                case IRoomScoped scoped:
                    roomId = scoped.RoomId;
                    break;
                case string value when parameters[i].Name == "roomId":
                    roomId = value;
                    break;
                case string value when parameters[i].Name == "userId":
                    target = value;
                    break;
            }
        }

        // Only well-formed ids reach the record (a denial can come before validation, for an expired token).
        return (HubArgumentRules.IsValidRoomId(roomId) ? roomId : null, HubArgumentRules.IsValidUserId(target) ? target : null);
    }

    private static string RoomIdOf(HubInvocationContext invocationContext, ParameterInfo[] parameters)
    {
        for (var i = 0; i < parameters.Length; i++)
        {
            switch (invocationContext.HubMethodArguments[i])
            {
                case IRoomScoped scoped:
                    return scoped.RoomId;
                case string roomId when parameters[i].Name == "roomId":
                    return roomId;
            }
        }

        throw new InvalidOperationException($"Hub method {invocationContext.HubMethodName} declares a room action but takes no room id.");
    }

    private HubException Refuse(HubsErrorException refusal, string refId, string method, string connectionId, Activity? activity)
    {
        Log.InvocationRefused(logger, refId, method, refusal.Code, connectionId);
        metrics.Invocation(method, refusal.Code);
        if (refusal.Code is ErrorCodes.Unauthenticated or ErrorCodes.Forbidden or ErrorCodes.NotFound)
        {
            metrics.Denied(refusal.Code);
        }

        activity?.SetStatus(ActivityStatusCode.Error, refusal.Code);
        return new HubException($"{refusal.Code}: {refusal.SafeText} (ref {refId})");
    }

    /// <summary>A hub method's declarations: its room action, its parameters, and whether it spends message budget.</summary>
    private sealed record MethodPolicy(RoomAction Action, ParameterInfo[] Parameters, bool SpendsMessageBudget)
    {
        public static MethodPolicy Of(MethodInfo method)
        {
            var action = method.GetCustomAttribute<RoomActionAttribute>()?.Action
                ?? throw new InvalidOperationException($"Hub method {method.Name} declares no room action.");
            var spends = method.GetCustomAttribute<SpendsMessageBudgetAttribute>() is not null;
            if (spends && action != RoomAction.Send)
            {
                // Admission replaces the room decision for these methods, which is only sound for sends.
                throw new InvalidOperationException($"Hub method {method.Name} spends message budget but is no send.");
            }

            return new MethodPolicy(action, method.GetParameters(), spends);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Refused {Method} with {Code} (ref {RefId}) on connection {ConnectionId}")]
        public static partial void InvocationRefused(ILogger logger, string refId, string method, string code, string connectionId);

        [LoggerMessage(2, LogLevel.Error, "Failed {Method} (ref {RefId}) on connection {ConnectionId}")]
        public static partial void InvocationFailed(ILogger logger, Exception exception, string refId, string method, string connectionId);

        [LoggerMessage(4, LogLevel.Debug, "Abandoned {Method} on connection {ConnectionId}: the connection closed")]
        public static partial void InvocationAbandoned(ILogger logger, string method, string connectionId);

        [LoggerMessage(3, LogLevel.Information, "Refused connection {ConnectionId}: not authenticated")]
        public static partial void ConnectRefused(ILogger logger, string connectionId);
    }
}
