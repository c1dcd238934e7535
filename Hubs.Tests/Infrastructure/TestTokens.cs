using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Hubs.Tests.Infrastructure;

/// <summary>Mints tokens the way a real identity provider would, including deliberately bad ones.</summary>
internal static class TestTokens
{
    public const string SigningKey = "hubs-tests-signing-key-0123456789abcdef-0123456789";
    public const string Issuer = "hubs-tests";
    public const string Audience = "hubs-tests-audience";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static string For(
        string? sub,
        string? name = null,
        IReadOnlyList<string>? roles = null,
        TimeSpan? lifetime = null,
        string key = SigningKey,
        string issuer = Issuer,
        string audience = Audience,
        bool rolesAsArray = true)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>();
        if (sub is not null)
        {
            claims["sub"] = sub;
        }

        if (name is not null)
        {
            claims["name"] = name;
        }

        if (roles is { Count: > 0 })
        {
            claims["role"] = rolesAsArray || roles.Count > 1 ? roles.ToArray() : roles[0];
        }

        var life = lifetime ?? TimeSpan.FromHours(1);
        return Recorded(Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = life < TimeSpan.Zero ? now + life - TimeSpan.FromMinutes(10) : now,
            Expires = now + life,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        }));
    }

    /// <summary>Notes the token and its parts in the run ledger, so that the run's logs are checked for them.</summary>
    private static string Recorded(string token)
    {
        RunLedger.Secret(token);
        foreach (var part in token.Split('.'))
        {
            RunLedger.Secret(part);
        }

        return token;
    }

    /// <summary>A token with <c>alg: none</c> and no signature.</summary>
    public static string Unsigned(string sub)
    {
        var exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode($$"""{"sub":"{{sub}}","iss":"{{Issuer}}","aud":"{{Audience}}","exp":{{exp}}}""");
        return Recorded($"{header}.{payload}.");
    }
}
