using Hubs.Contracts;

namespace Hubs.Server.Authorization;

/// <summary><c>POST /dev/token</c>: Development only, never mapped otherwise.</summary>
internal static class DevTokenEndpoint
{
    private const int MaxLifetimeSeconds = 24 * 3600;

    public sealed record DevTokenRequest(string? Sub, string? Name, string[]? Roles, int? LifetimeSeconds);

    public sealed record DevTokenResponse(string Token);

    public static IEndpointRouteBuilder MapDevToken(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(HubRoutes.DevToken, (DevTokenRequest? request, JwtTokenFactory tokens) =>
        {
            if (request is null || !HubArgumentRules.IsValidUserId(request.Sub))
            {
                return Results.BadRequest(new { error = $"{ErrorCodes.InvalidArgument}: sub must be 1 to 128 characters without control characters" });
            }

            if (request.Name is not null && !HubArgumentRules.IsValidDisplayName(request.Name))
            {
                return Results.BadRequest(new { error = $"{ErrorCodes.InvalidArgument}: name must be 1 to 100 characters without control characters" });
            }

            var roles = request.Roles ?? [];
            if (roles.Length > HubArgumentRules.MaxRoles || !roles.All(HubArgumentRules.IsValidRole))
            {
                return Results.BadRequest(new { error = $"{ErrorCodes.InvalidArgument}: roles are invalid" });
            }

            var lifetime = request.LifetimeSeconds ?? 3600;
            if (lifetime is < 1 or > MaxLifetimeSeconds)
            {
                return Results.BadRequest(new { error = $"{ErrorCodes.InvalidArgument}: lifetimeSeconds must be 1 to {MaxLifetimeSeconds}" });
            }

            return Results.Ok(new DevTokenResponse(tokens.Create(request.Sub!, request.Name, roles, TimeSpan.FromSeconds(lifetime))));
        });
        return endpoints;
    }
}
