using System.Security.Claims;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Hubs.Server.Audit;

/// <summary>
/// Every request the authorization middleware turns away (401 without a valid token, 403 without the role) gives one
/// audit record before the framework's own answer goes out; nothing of the endpoint runs. The record's reference id
/// stays on the request (<see cref="RefIdOf"/>) for the answer to carry.
/// </summary>
internal sealed class AuditedAuthorizationResults(AuditTrail audit) : IAuthorizationMiddlewareResultHandler
{
    private static readonly object RefIdItem = new();

    private readonly AuthorizationMiddlewareResultHandler _default = new();

    /// <summary>The reference id of the denial recorded for this request, if there was one.</summary>
    public static string? RefIdOf(HttpContext context) => context.Items.TryGetValue(RefIdItem, out var refId) ? refId as string : null;

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged || authorizeResult.Forbidden)
        {
            var code = authorizeResult.Forbidden ? ErrorCodes.Forbidden : ErrorCodes.Unauthenticated;
            var actor = context.User.FindFirstValue(HubsUser.SubjectClaim) ?? "anonymous";
            var action = context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? context.Request.Path.Value ?? "unknown";
            var via = context.Request.Path.StartsWithSegments("/api") ? AuditVia.Api : AuditVia.Hub;
            var roomId = context.Request.RouteValues["roomId"] as string;
            var refId = RefIds.New();
            context.Items[RefIdItem] = refId;
            await audit.RefusedAsync(
                HubArgumentRules.IsValidUserId(actor) ? actor : "anonymous",
                via,
                HubArgumentRules.IsValidUserId(action) ? action : "unknown",
                HubArgumentRules.IsValidRoomId(roomId) ? roomId : null,
                null,
                code,
                refId);
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
