using System.Security.Claims;
using System.Text.Json;
using System.Threading.RateLimiting;
using Hubs.Contracts;
using Hubs.Server.Audit;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.Rooms;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Admin;

/// <summary>
/// The admin HTTP API under <c>/api</c>, for an app's backend: read rooms and who is in them, the owner actions
/// (through <see cref="RoomAdministration"/>, the same code the hub runs), and posting into a room as a named service
/// sender (through <see cref="RoomMessagePublisher"/>). Callers need a JWT with the <see cref="AdminOptions.Role"/> role (anything else gets 401 or
/// 403 and nothing runs), are rate-limited per caller, get the hub's validation and error codes as RFC 7807 problem
/// details, and are described by the OpenAPI document at <c>/openapi/v1.json</c>.
/// </summary>
internal static partial class AdminApi
{
    public const string Policy = "hubs-admin";

    private const string Prefix = "/api";

    public static IServiceCollection AddHubsAdminApi(this IServiceCollection services)
    {
        services.AddValidatedOptions<AdminOptions>(AdminOptions.Section);
        services.AddProblemDetails();

        // A value that does not bind is answered like any other bad input (invalid_argument, below), in every
        // environment: never the framework's exception with its text.
        services.Configure<RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = false);
        services.AddOpenApi();
        services.AddOptions<Microsoft.AspNetCore.Authorization.AuthorizationOptions>()
            .Configure<IOptions<AdminOptions>>((authorization, admin) =>
                authorization.AddPolicy(Policy, policy => policy.RequireAuthenticatedUser().RequireRole(admin.Value.Role)));
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(Policy, context =>
            {
                var perMinute = context.RequestServices.GetRequiredService<IOptions<AdminOptions>>().Value.RequestsPerMinute;
                var caller = context.User.FindFirstValue(HubsUser.SubjectClaim) ?? context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                return RateLimitPartition.GetTokenBucketLimiter(caller, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = Math.Max(10, perMinute / 10),
                    TokensPerPeriod = perMinute,
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                });
            });
            limiter.OnRejected = async (rejected, cancellationToken) =>
            {
                var refusal = new HubsErrorException(ErrorCodes.RateLimited, "too many admin requests, slow down");
                await Problem(refusal, RefIds.New()).ExecuteAsync(rejected.HttpContext);
            };
        });
        return services;
    }

    /// <summary>
    /// What the framework answers under <c>/api</c> before an endpoint runs (401 and 403 from authorization, 404 for an
    /// unknown path, 405, 415, a value that does not bind) is a problem detail too, with the code its status means and,
    /// for a denial, the reference id of its audit record. Goes in front of authentication.
    /// </summary>
    public static IApplicationBuilder UseHubsAdminProblems(this IApplicationBuilder app) =>
        app.UseWhen(context => context.Request.Path.StartsWithSegments(Prefix), api => api.UseStatusCodePages(async pages =>
        {
            var http = pages.HttpContext;
            var refusal = http.Response.StatusCode switch
            {
                StatusCodes.Status401Unauthorized => HubsErrorException.Unauthenticated(),
                StatusCodes.Status403Forbidden => HubsErrorException.Forbidden("the admin role is required"),
                StatusCodes.Status404NotFound => new HubsErrorException(ErrorCodes.NotFound, "no such endpoint"),
                StatusCodes.Status429TooManyRequests => new HubsErrorException(ErrorCodes.RateLimited, "too many admin requests, slow down"),
                StatusCodes.Status503ServiceUnavailable => new HubsErrorException(ErrorCodes.Unavailable, "try again later"),
                < 500 => HubsErrorException.InvalidArgument("the request is malformed"),
                _ => new HubsErrorException(ErrorCodes.Internal, "the request could not be completed"),
            };
            await Problem(refusal, AuditedAuthorizationResults.RefIdOf(http) ?? RefIds.New(), http.Response.StatusCode).ExecuteAsync(http);
        }));

    public static WebApplication MapHubsAdminApi(this WebApplication app)
    {
        app.MapOpenApi();
        var api = app.MapGroup(Prefix)
            .RequireAuthorization(Policy)
            .RequireRateLimiting(Policy)
            .AddEndpointFilter<AdminErrors>()
            .WithTags("admin");

        api.MapGet("/rooms", ListRoomsAsync).WithName("ListRooms").WithSummary("Every room, with its member count.");
        api.MapGet("/rooms/{roomId}", GetRoomAsync).WithName("GetRoom").WithSummary("One room.");
        api.MapGet("/rooms/{roomId}/members", GetMembersAsync).WithName("GetMembers").WithSummary("Who is in the room, with presence.");
        api.MapPost("/rooms", CreateRoomAsync).WithName("CreateRoom").Accepts<ServiceCreateRoomRequest>("application/json")
            .WithSummary("Creates a room owned by ownerId.");
        api.MapPatch("/rooms/{roomId}", UpdateRoomAsync).WithName("UpdateRoom").Accepts<ServiceUpdateRoomRequest>("application/json")
            .WithSummary("Changes a room's settings; members who lose access are removed (revoked) first.");
        api.MapDelete("/rooms/{roomId}", DeleteRoomAsync).WithName("DeleteRoom").WithSummary("Deletes a room and its history; members are removed (deleted).");
        api.MapGet("/rooms/{roomId}/invites", GetInvitesAsync).WithName("GetInvites").WithSummary("Invited user ids.");
        api.MapPut("/rooms/{roomId}/invites/{userId}", InviteAsync).WithName("InviteUser").WithSummary("Invites a user (lifts a kick).");
        api.MapDelete("/rooms/{roomId}/invites/{userId}", RevokeInviteAsync).WithName("RevokeInvite")
            .WithSummary("Revokes an invite; the user's connections that lost access are removed (revoked).");
        api.MapPost("/rooms/{roomId}/kicks/{userId}", KickAsync).WithName("KickUser")
            .WithSummary("Kicks a user: removed (kicked) on every node, and may not rejoin until invited again.");
        api.MapPost("/users/{userId}/notifications", NotifyUserAsync).WithName("NotifyUser").Accepts<NotifyUserRequest>("application/json")
            .WithSummary("Sends a notification (the Notified event) to every connection of the user, on every node.");
        api.MapPost("/users/{userId}/disconnect", DisconnectUserAsync).WithName("DisconnectUser").Accepts<DisconnectUserRequest>("application/json")
            .WithSummary("Closes every connection of the user on every node; with banSeconds, refuses the user's connects that long.");
        api.MapDelete("/users/{userId}/ban", LiftBanAsync).WithName("LiftBan").WithSummary("Ends a user's ban now.");
        api.MapGet("/audit", QueryAuditAsync).WithName("QueryAudit")
            .WithSummary("Audit records, newest first: filter by roomId, userId (actor or target), from and to (ISO 8601), limit 1 to 1000 (default 100).");
        api.MapPost("/rooms/{roomId}/messages", PostMessageAsync).WithName("PostMessage")
            .Accepts<ServiceMessageRequest>("application/json")
            .WithSummary("Posts a message as a named service sender: the room's next sequence, stored and delivered like SendMessage.");
        return app;
    }

    private static async Task<Ok<RoomInfo[]>> ListRoomsAsync(IRoomStore rooms, IPresenceTracker presence, ClaimsPrincipal caller, CancellationToken cancellationToken)
    {
        var all = await rooms.ListAsync(caller.FindFirstValue(HubsUser.SubjectClaim) ?? string.Empty, cancellationToken);
        var infos = new List<RoomInfo>(all.Count);
        foreach (var (room, _) in all.OrderBy(r => r.Room.RoomId, StringComparer.Ordinal))
        {
            infos.Add(room.ToInfo(await presence.GetSizeAsync(room.RoomId, cancellationToken)));
        }

        return TypedResults.Ok(infos.ToArray());
    }

    private static async Task<Ok<RoomInfo>> GetRoomAsync(string roomId, IRoomStore rooms, IPresenceTracker presence, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        rules.ValidateAs(nameof(IRoomHub.GetRoom), roomId);
        var room = await ExistingAsync(rooms, roomId, cancellationToken);
        return TypedResults.Ok(room.ToInfo(await presence.GetSizeAsync(roomId, cancellationToken)));
    }

    private static async Task<Ok<IReadOnlyList<MemberInfo>>> GetMembersAsync(
        string roomId, IRoomStore rooms, IPresenceTracker presence, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        rules.ValidateAs(nameof(IRoomHub.GetMembers), roomId);
        await ExistingAsync(rooms, roomId, cancellationToken);
        return TypedResults.Ok(await presence.GetMembersAsync(roomId, cancellationToken));
    }

    private static async Task<Created<RoomInfo>> CreateRoomAsync(HttpRequest http, RoomAdministration administration, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        var request = await BodyAsync<ServiceCreateRoomRequest>(http, "{ roomId, permission, ownerId, displayName?, allowedRoles?, maxMembers? }", cancellationToken);
        var create = new CreateRoomRequest(request.RoomId, request.Permission, request.DisplayName, request.AllowedRoles, request.MaxMembers);
        rules.ValidateAs(nameof(IRoomHub.CreateRoom), create);
        RequireUserId(request.OwnerId, "ownerId");
        AdminErrors.AuditSubject(http.HttpContext, request.RoomId, request.OwnerId);
        var info = await administration.CreateAsync(create, request.OwnerId, cancellationToken);
        return TypedResults.Created($"/api/rooms/{info.RoomId}", info);
    }

    private static async Task<Ok<RoomInfo>> UpdateRoomAsync(
        string roomId, HttpRequest http, IRoomStore rooms, RoomAdministration administration, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        var request = await BodyAsync<ServiceUpdateRoomRequest>(http, "{ displayName?, permission?, allowedRoles?, maxMembers? }", cancellationToken);
        var update = new UpdateRoomRequest(roomId, request.DisplayName, request.Permission, request.AllowedRoles, request.MaxMembers);
        rules.ValidateAs(nameof(IRoomHub.UpdateRoom), update);
        return TypedResults.Ok(await administration.UpdateAsync(await ExistingAsync(rooms, roomId, cancellationToken), update, cancellationToken));
    }

    private static async Task<NoContent> DeleteRoomAsync(string roomId, RoomAdministration administration, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        rules.ValidateAs(nameof(IRoomHub.DeleteRoom), roomId);
        return await administration.DeleteAsync(roomId, cancellationToken) ? TypedResults.NoContent() : throw HubsErrorException.RoomNotFound();
    }

    private static async Task<Ok<IReadOnlyList<string>>> GetInvitesAsync(string roomId, IRoomStore rooms, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        rules.ValidateAs(nameof(IRoomHub.GetInvites), roomId);
        await ExistingAsync(rooms, roomId, cancellationToken);
        return TypedResults.Ok(await rooms.GetInvitesAsync(roomId, cancellationToken));
    }

    private static async Task<NoContent> InviteAsync(string roomId, string userId, RoomAdministration administration, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        rules.ValidateAs(nameof(IRoomHub.InviteUser), roomId, userId);
        await administration.InviteAsync(roomId, userId, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> RevokeInviteAsync(string roomId, string userId, RoomAdministration administration, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        rules.ValidateAs(nameof(IRoomHub.RevokeInvite), roomId, userId);
        await administration.RevokeInviteAsync(roomId, userId, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> KickAsync(
        string roomId, string userId, IRoomStore rooms, RoomAdministration administration, HubArgumentRules rules, CancellationToken cancellationToken)
    {
        rules.ValidateAs(nameof(IRoomHub.KickUser), roomId, userId);
        await administration.KickAsync(await ExistingAsync(rooms, roomId, cancellationToken), userId, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Accepted<UserNotification>> NotifyUserAsync(
        string userId, HttpRequest http, IHubContext<RoomHub, IRoomClient> hub, HubArgumentRules rules, TimeProvider time, CancellationToken cancellationToken)
    {
        var request = await BodyAsync<NotifyUserRequest>(http, "{ senderId, text, kind? }", cancellationToken);
        RequireUserId(userId, "userId");
        RequireUserId(request.SenderId, "senderId");
        rules.ValidateText(request.Text);
        if (request.Kind is not null && !HubArgumentRules.IsValidRole(request.Kind))
        {
            throw HubsErrorException.InvalidArgument("kind must be 1 to 64 characters of A-Z a-z 0-9 _ - . :");
        }

        var notification = new UserNotification(userId, request.SenderId, request.Kind ?? "notice", request.Text, time.GetUtcNow());
        await hub.Clients.User(userId).Notified(notification);
        return TypedResults.Accepted((string?)null, notification);
    }

    private static async Task<Accepted<DisconnectUserResult>> DisconnectUserAsync(
        string userId,
        HttpRequest http,
        IUserBans bans,
        IUserDisconnects disconnects,
        IOptions<AdminOptions> options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        RequireUserId(userId, "userId");
        var request = http.ContentLength is 0 or null && !http.HasJsonContentType()
            ? new DisconnectUserRequest()
            : await BodyAsync<DisconnectUserRequest>(http, "{ banSeconds? }", cancellationToken);
        var seconds = request.BanSeconds ?? 0;
        if (seconds < 0 || seconds > options.Value.MaxBanSeconds)
        {
            throw HubsErrorException.InvalidArgument($"banSeconds must be 0 to {options.Value.MaxBanSeconds}");
        }

        // Banned first, so that a reconnect racing the close is refused.
        DateTimeOffset? until = null;
        if (seconds > 0)
        {
            await bans.BanAsync(userId, TimeSpan.FromSeconds(seconds), cancellationToken);
            until = time.GetUtcNow().AddSeconds(seconds);
        }

        await disconnects.DisconnectAsync(userId, cancellationToken);
        return TypedResults.Accepted((string?)null, new DisconnectUserResult(userId, until));
    }

    private static async Task<NoContent> LiftBanAsync(string userId, IUserBans bans, CancellationToken cancellationToken)
    {
        RequireUserId(userId, "userId");
        await bans.LiftAsync(userId, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<IReadOnlyList<AuditRecord>>> QueryAuditAsync(
        string? roomId, string? userId, DateTimeOffset? from, DateTimeOffset? to, int? limit, IAuditStore store, CancellationToken cancellationToken)
    {
        if (roomId is not null && !HubArgumentRules.IsValidRoomId(roomId))
        {
            throw HubsErrorException.InvalidArgument("roomId must be 1 to 64 characters of A-Z a-z 0-9 _ - . starting with a letter or digit");
        }

        if (userId is not null)
        {
            RequireUserId(userId, "userId");
        }

        if (limit is < 1 or > 1000)
        {
            throw HubsErrorException.InvalidArgument("limit must be 1 to 1000");
        }

        return TypedResults.Ok(await store.QueryAsync(new AuditQuery(roomId, userId, from, to, limit ?? 100), cancellationToken));
    }

    private static async Task<Created<SendMessageResult>> PostMessageAsync(
        string roomId,
        HttpRequest http,
        IRoomStore rooms,
        RoomMessagePublisher publisher,
        HubArgumentRules rules,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var request = await BodyAsync<ServiceMessageRequest>(http, "{ senderId, text, senderName?, clientMessageId? }", cancellationToken);

        rules.ValidateAs(nameof(IRoomHub.SendMessage), new SendMessageRequest(roomId, request.Text, request.ClientMessageId));
        RequireUserId(request.SenderId, "senderId");

        if (request.SenderName is not null && !HubArgumentRules.IsValidDisplayName(request.SenderName))
        {
            throw HubsErrorException.InvalidArgument("senderName must be 1 to 100 characters without control characters");
        }

        await ExistingAsync(rooms, roomId, cancellationToken);
        var draft = new MessageDraft(request.SenderId, request.SenderName ?? request.SenderId, request.Text, time.GetUtcNow(), request.ClientMessageId);
        var message = await publisher.PublishAsync(roomId, draft, cancellationToken);
        return TypedResults.Created($"/api/rooms/{roomId}/messages/{message.Sequence}", new SendMessageResult(message.RoomId, message.Sequence, message.SentAt));
    }

    /// <summary>The JSON body, or <c>invalid_argument</c> (the same answer in every environment, never a parser's message).</summary>
    private static async Task<T> BodyAsync<T>(HttpRequest http, string shape, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            if (http.HasJsonContentType() && await http.ReadFromJsonAsync<T>(cancellationToken) is { } body)
            {
                return body;
            }
        }
        catch (JsonException)
        {
        }

        throw HubsErrorException.InvalidArgument($"a JSON body {shape} is required");
    }

    private static void RequireUserId(string? value, string name)
    {
        if (!HubArgumentRules.IsValidUserId(value))
        {
            throw HubsErrorException.InvalidArgument($"{name} must be 1 to 128 characters without control characters");
        }
    }

    private static async Task<RoomRecord> ExistingAsync(IRoomStore rooms, string roomId, CancellationToken cancellationToken) =>
        (await rooms.GetWithGrantsAsync(roomId, string.Empty, cancellationToken)).Room ?? throw HubsErrorException.RoomNotFound();

    /// <summary>An RFC 7807 problem: <c>title</c> and <c>code</c> are the contract's code, <c>detail</c> is "&lt;code&gt;: &lt;text&gt; (ref &lt;id&gt;)".</summary>
    internal static ProblemHttpResult Problem(HubsErrorException refusal, string refId, int? status = null) => TypedResults.Problem(
        detail: $"{refusal.Code}: {refusal.SafeText} (ref {refId})",
        statusCode: status ?? StatusOf(refusal.Code),
        title: refusal.Code,
        extensions: new Dictionary<string, object?> { ["code"] = refusal.Code, ["refId"] = refId });

    private static int StatusOf(string code) => code switch
    {
        ErrorCodes.Unauthenticated => StatusCodes.Status401Unauthorized,
        ErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCodes.NotFound => StatusCodes.Status404NotFound,
        ErrorCodes.InvalidArgument => StatusCodes.Status400BadRequest,
        ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        ErrorCodes.RoomFull or ErrorCodes.Conflict => StatusCodes.Status409Conflict,
        ErrorCodes.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>
    /// Maps refusals to problem details and anything else to <c>internal</c> with a reference id (details stay in the log),
    /// and gives every call that changes something exactly one audit record with its outcome.
    /// </summary>
    private sealed partial class AdminErrors(AuditTrail audit, ILogger<AdminErrors> logger) : IEndpointFilter
    {
        private static readonly object SubjectItem = new();

        /// <summary>The room and user of a call whose path names neither (they are in its body), for its audit record.</summary>
        public static void AuditSubject(HttpContext http, string roomId, string? targetUserId) => http.Items[SubjectItem] = (roomId, targetUserId);

        public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
        {
            var http = context.HttpContext;
            var endpoint = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "admin";
            var audited = !HttpMethods.IsGet(http.Request.Method);
            var actor = http.User.FindFirstValue(HubsUser.SubjectClaim) ?? "anonymous";
            var roomId = http.Request.RouteValues["roomId"] as string;
            var target = http.Request.RouteValues["userId"] as string;
            try
            {
                var result = await next(context);
                (roomId, target) = Subject(http, roomId, target);
                if (audited)
                {
                    await audit.OkAsync(actor, AuditVia.Api, endpoint, Valid(roomId, HubArgumentRules.IsValidRoomId), Valid(target, HubArgumentRules.IsValidUserId));
                }

                return result;
            }
            catch (HubsErrorException refusal)
            {
                var refId = RefIds.New();
                Log.Refused(logger, refId, endpoint, refusal.Code);
                (roomId, target) = Subject(http, roomId, target);
                if (audited)
                {
                    await audit.RefusedAsync(
                        actor, AuditVia.Api, endpoint, Valid(roomId, HubArgumentRules.IsValidRoomId), Valid(target, HubArgumentRules.IsValidUserId), refusal.Code, refId);
                }

                return Problem(refusal, refId);
            }
            catch (Exception error) when (!http.RequestAborted.IsCancellationRequested)
            {
                var refId = RefIds.New();
                Log.Failed(logger, error, refId, endpoint);
                return Problem(new HubsErrorException(ErrorCodes.Internal, "the request could not be completed"), refId);
            }
        }

        private static string? Valid(string? value, Func<string?, bool> rule) => rule(value) ? value : null;

        private static (string? RoomId, string? TargetUserId) Subject(HttpContext http, string? roomId, string? target) =>
            http.Items.TryGetValue(SubjectItem, out var subject) && subject is (string bodyRoomId, string bodyTarget) ? (bodyRoomId, bodyTarget) : (roomId, target);

        private static partial class Log
        {
            [LoggerMessage(1, LogLevel.Information, "Admin API refused {Endpoint} with {Code} (ref {RefId})")]
            public static partial void Refused(ILogger logger, string refId, string endpoint, string code);

            [LoggerMessage(2, LogLevel.Error, "Admin API failed {Endpoint} (ref {RefId})")]
            public static partial void Failed(ILogger logger, Exception exception, string refId, string endpoint);
        }
    }
}
