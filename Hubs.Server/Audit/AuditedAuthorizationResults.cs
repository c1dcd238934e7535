using System.Security.Claims;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Hubs.Server.Audit;

/// <summary>
/// Every request the authorization middleware turns away (401 without a valid token, 403 without the role) gives one
/// audit record before the framework's own answer goes out; nothing of the endpoint runs.
/// </summary>
internal sealed class AuditedAuthorizationResults(AuditTrail audit) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged || authorizeResult.Forbidden)
        {
            var code = authorizeResult.Forbidden ? ErrorCodes.Forbidden : ErrorCodes.Unauthenticated;
            var actor = context.User.FindFirstValue(HubsUser.SubjectClaim) ?? "anonymous";
            var action = context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? context.Request.Path.Value ?? "unknown";
            var via = context.Request.Path.StartsWithSegments("/api") ? AuditVia.Api : AuditVia.Hub;
            var roomId = context.Request.RouteValues["roomId"] as string;
            await audit.RefusedAsync(
                HubArgumentRules.IsValidUserId(actor) ? actor : "anonymous",
                via,
                HubArgumentRules.IsValidUserId(action) ? action : "unknown",
                HubArgumentRules.IsValidRoomId(roomId) ? roomId : null,
                null,
                code,
                RefIds.New());
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
