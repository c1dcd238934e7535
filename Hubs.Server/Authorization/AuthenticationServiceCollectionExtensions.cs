using Hubs.Contracts;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Hubs.Server.Authorization;

internal static class AuthenticationServiceCollectionExtensions
{
    /// <summary>Tokens may be this far past <c>exp</c>/before <c>nbf</c> and still validate.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public static IServiceCollection AddHubsAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<SigningKeyProvider>();
        services.AddSingleton<JwtTokenFactory>();
        services.AddSingleton<ITicketStore, InMemoryTicketStore>();

        // Bearer tokens need no data protection; ephemeral keys keep nodes from writing a key ring to disk.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<SigningKeyProvider, IOptions<AuthOptions>>((jwt, keys, auth) =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidIssuer = auth.Value.Issuer,
                    ValidateAudience = true,
                    ValidAudience = auth.Value.Audience,
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    ClockSkew = ClockSkew,
                    ValidateIssuerSigningKey = true,
                    RequireSignedTokens = true,
                    IssuerSigningKey = keys.Key,
                    // Only HS256: alg "none" and every other algorithm are refused (T2).
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    NameClaimType = HubsUser.NameClaim,
                    RoleClaimType = HubsUser.RoleClaim,
                };
                jwt.Events = new JwtBearerEvents
                {
                    OnMessageReceived = async context =>
                    {
                        // WebSockets and SSE cannot send headers from browsers: accept the query value on the hub path
                        // only, where it is either a JWT or a single-use ticket that stands for one (T4).
                        if (string.IsNullOrEmpty(context.Token)
                            && context.HttpContext.Request.Path.StartsWithSegments(HubRoutes.Rooms)
                            && context.Request.Query.TryGetValue("access_token", out var token))
                        {
                            var tickets = context.HttpContext.RequestServices.GetRequiredService<ITicketStore>();
                            var resolved = await ConnectionTickets.ResolveAsync(token.ToString(), tickets, context.HttpContext.RequestAborted);
                            if (resolved is null)
                            {
                                context.Fail("The ticket is unknown, used or expired.");
                                return;
                            }

                            context.Token = resolved;
                        }
                    },
                    OnTokenValidated = context =>
                    {
                        if (HubsUser.From(context.Principal) is null)
                        {
                            context.Fail("The token has no subject.");
                        }
                        else
                        {
                            // A hub connection keeps its principal for its whole life: only what Hubs reads, not the
                            // parsed token and its other claims.
                            context.Principal = HubsUser.Essentials(context.Principal!);
                        }

                        return Task.CompletedTask;
                    },
                };
            });
        services.AddAuthorization();
        return services;
    }
}
