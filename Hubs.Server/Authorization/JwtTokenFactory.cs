using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Hubs.Server.Authorization;

/// <summary>Mints HS256 tokens with the node's key; used by the Development-only <c>/dev/token</c> endpoint.</summary>
internal sealed class JwtTokenFactory(SigningKeyProvider keys, IOptions<AuthOptions> options, TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new();

    public string Create(string subject, string? name, IReadOnlyList<string> roles, TimeSpan lifetime)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var claims = new Dictionary<string, object> { [HubsUser.SubjectClaim] = subject };
        if (!string.IsNullOrEmpty(name))
        {
            claims[HubsUser.NameClaim] = name;
        }

        if (roles.Count > 0)
        {
            claims[HubsUser.RoleClaim] = roles.ToArray();
        }

        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(keys.Key, SecurityAlgorithms.HmacSha256),
            Subject = new ClaimsIdentity(),
        });
    }
}
