using System.Globalization;
using System.Security.Claims;

namespace Hubs.Server.Authorization;

/// <summary>The caller as established by a validated token. Identity never comes from arguments (T6).</summary>
internal sealed record HubsUser(string UserId, string DisplayName, IReadOnlyList<string> Roles, DateTimeOffset? ExpiresAt)
{
    public const string SubjectClaim = "sub";
    public const string NameClaim = "name";
    public const string RoleClaim = "role";
    public const string ExpiresClaim = "exp";

    /// <summary>Reads the caller from a principal, or null when it is not an authenticated Hubs user.</summary>
    public static HubsUser? From(ClaimsPrincipal? principal)
    {
        if (principal?.Identity?.IsAuthenticated != true)
        {
            return null;
        }

        var sub = principal.FindFirst(SubjectClaim)?.Value;
        if (string.IsNullOrWhiteSpace(sub))
        {
            return null;
        }

        var name = principal.FindFirst(NameClaim)?.Value;
        var roles = principal.FindAll(RoleClaim).Select(c => c.Value).Distinct(StringComparer.Ordinal).ToArray();
        DateTimeOffset? expires = long.TryParse(principal.FindFirst(ExpiresClaim)?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp)
            : null;
        return new HubsUser(sub, string.IsNullOrWhiteSpace(name) ? sub : name, roles, expires);
    }

    /// <summary>A principal with only the claims <see cref="From"/> reads (subject, name, roles, expiry).</summary>
    public static ClaimsPrincipal Essentials(ClaimsPrincipal principal)
    {
        var kept = principal.Claims
            .Where(c => c.Type is SubjectClaim or NameClaim or RoleClaim or ExpiresClaim)
            .Select(c => new Claim(c.Type, c.Value, c.ValueType));
        return new ClaimsPrincipal(new ClaimsIdentity(kept, principal.Identity?.AuthenticationType, NameClaim, RoleClaim));
    }

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expires && now >= expires;

    public bool HasAnyRole(IReadOnlyList<string> roles)
    {
        foreach (var role in roles)
        {
            if (Roles.Contains(role, StringComparer.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
