using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Hubs.Server.Authorization;

/// <summary><c>Auth</c>: how tokens are validated.</summary>
internal sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>Minimum key length for HS256.</summary>
    public const int MinKeyBytes = 32;

    public string? SigningKey { get; set; }

    public string Issuer { get; set; } = "hubs";

    public string Audience { get; set; } = "hubs";
}

/// <summary>
/// The node's signing key. There is no default key: outside Development a missing or short key fails
/// validation at start (T1); Development gets a random key per process.
/// </summary>
internal sealed class SigningKeyProvider(IOptions<AuthOptions> options, IHostEnvironment environment)
{
    private readonly Lazy<SymmetricSecurityKey> _key = new(() =>
    {
        var configured = options.Value.SigningKey;
        if (!string.IsNullOrEmpty(configured))
        {
            return new SymmetricSecurityKey(Encoding.UTF8.GetBytes(configured));
        }

        if (!environment.IsDevelopment())
        {
            throw new InvalidOperationException(AuthOptionsValidator.MissingKeyMessage);
        }

        return new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(64));
    });

    public SymmetricSecurityKey Key => _key.Value;
}

internal sealed class AuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuthOptions>
{
    public const string MissingKeyMessage =
        "Auth:SigningKey is missing or shorter than 32 bytes. Set it (environment variable Auth__SigningKey) to a secret of at least 32 bytes; there is no default key.";

    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var failures = new List<string>();
        var key = options.SigningKey;
        if (string.IsNullOrEmpty(key))
        {
            if (!environment.IsDevelopment())
            {
                failures.Add(MissingKeyMessage);
            }
        }
        else if (Encoding.UTF8.GetByteCount(key) < AuthOptions.MinKeyBytes)
        {
            failures.Add(MissingKeyMessage);
        }

        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            failures.Add("Auth:Issuer must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            failures.Add("Auth:Audience must not be empty.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
