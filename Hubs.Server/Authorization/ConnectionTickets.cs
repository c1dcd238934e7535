using System.Collections.Concurrent;
using System.Security.Cryptography;
using Hubs.Contracts;
using Microsoft.AspNetCore.Authentication.JwtBearer;

namespace Hubs.Server.Authorization;

/// <summary>
/// Single-use connection tickets (T4): a browser trades its JWT (sent in a header) for an opaque ticket that is valid
/// once, for 30 seconds, in place of the JWT as <c>access_token</c> on the hub URL, so no JWT ever sits in a URL.
/// The ticket stands for the JWT it was issued for, which is validated again when the ticket is redeemed.
/// </summary>
internal interface ITicketStore
{
    Task StoreAsync(string ticket, string token, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>Returns the token once and forgets the ticket; null when unknown, used or expired.</summary>
    Task<string?> RedeemAsync(string ticket, CancellationToken cancellationToken);
}

/// <summary>Single-node tickets. Expired entries are swept on each issue, so the map stays bounded by the issue rate.</summary>
internal sealed class InMemoryTicketStore(TimeProvider time) : ITicketStore
{
    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _tickets = new(StringComparer.Ordinal);

    public Task StoreAsync(string ticket, string token, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var (key, value) in _tickets)
        {
            if (value.Expires <= now)
            {
                _tickets.TryRemove(key, out _);
            }
        }

        _tickets[ticket] = (token, now + lifetime);
        return Task.CompletedTask;
    }

    public Task<string?> RedeemAsync(string ticket, CancellationToken cancellationToken) =>
        Task.FromResult(_tickets.TryRemove(ticket, out var entry) && entry.Expires > time.GetUtcNow() ? entry.Token : null);
}

internal static class ConnectionTickets
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);

    public sealed record TicketResponse(string Ticket, int ExpiresInSeconds);

    /// <summary>A JWT has two dots; a ticket has none, so the two cannot be mistaken for each other.</summary>
    public static bool IsTicket(string token) => !token.Contains('.');

    public static IEndpointRouteBuilder MapConnectionTickets(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(HubRoutes.Ticket, async (HttpContext context, ITicketStore tickets) =>
        {
            // Only a token from the Authorization header can buy a ticket: a ticket never buys another.
            var header = context.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return Results.Unauthorized();
            }

            var ticket = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
            await tickets.StoreAsync(ticket, header["Bearer ".Length..].Trim(), Lifetime, context.RequestAborted);
            return Results.Ok(new TicketResponse(ticket, (int)Lifetime.TotalSeconds));
        }).RequireAuthorization(policy => policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme).RequireAuthenticatedUser());
        return endpoints;
    }

    /// <summary>Used by the bearer handler for the hub path's <c>access_token</c>: a ticket is swapped for its JWT, once.</summary>
    public static async Task<string?> ResolveAsync(string accessToken, ITicketStore tickets, CancellationToken cancellationToken) =>
        IsTicket(accessToken) ? await tickets.RedeemAsync(accessToken, cancellationToken) : accessToken;

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
