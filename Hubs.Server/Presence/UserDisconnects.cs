using System.Collections.Concurrent;
using Hubs.Contracts;
using Hubs.Server.Lifecycle;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Hubs.Server.Presence;

/// <summary>Bans: while one lasts, the user's connects are refused (<c>forbidden</c>).</summary>
internal interface IUserBans
{
    Task BanAsync(string userId, TimeSpan duration, CancellationToken cancellationToken);

    Task LiftAsync(string userId, CancellationToken cancellationToken);

    Task<bool> IsBannedAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>Closes every connection of a user, on every node.</summary>
internal interface IUserDisconnects
{
    Task DisconnectAsync(string userId, CancellationToken cancellationToken);
}

/// <summary>Single-node bans; an expired one is forgotten when it is next looked at.</summary>
internal sealed class InMemoryUserBans(TimeProvider time) : IUserBans
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _bans = new(StringComparer.Ordinal);

    public Task BanAsync(string userId, TimeSpan duration, CancellationToken cancellationToken)
    {
        _bans[userId] = time.GetUtcNow() + duration;
        return Task.CompletedTask;
    }

    public Task LiftAsync(string userId, CancellationToken cancellationToken)
    {
        _bans.TryRemove(userId, out _);
        return Task.CompletedTask;
    }

    public Task<bool> IsBannedAsync(string userId, CancellationToken cancellationToken)
    {
        if (_bans.TryGetValue(userId, out var until) && until <= time.GetUtcNow())
        {
            _bans.TryRemove(new KeyValuePair<string, DateTimeOffset>(userId, until));
            return Task.FromResult(false);
        }

        return Task.FromResult(_bans.ContainsKey(userId));
    }
}

/// <summary>
/// Closes this node's connections of a user with a close message that tells the client not to reconnect on its own;
/// a client that reconnects anyway meets the ban, if there is one. On one node it is the whole of
/// <see cref="IUserDisconnects"/>; with Redis every node runs it when the user id arrives on the channel.
/// </summary>
internal sealed partial class LocalUserDisconnects(NodeDrain connections, ILogger<LocalUserDisconnects> logger) : IUserDisconnects
{
    public const string CloseText = $"{ErrorCodes.Forbidden}: disconnected by an administrator";

    public async Task DisconnectAsync(string userId, CancellationToken cancellationToken)
    {
        var closing = connections.ConnectionsOf(userId);
        Log.Closing(logger, closing.Count);
        await Task.WhenAll(closing.Select(c => NodeDrain.CloseNowAsync(c, new CloseMessage(CloseText, allowReconnect: false))));
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Closing {Count} connections of a disconnected user on this node")]
        public static partial void Closing(ILogger logger, int count);
    }
}

/// <summary>Refuses a banned user's hub requests (negotiate and connect) with 403 before any connection exists.</summary>
internal static class UserBanGate
{
    public const string RefusalText = $"{ErrorCodes.Forbidden}: this user is banned for now";

    /// <summary>The audit action of a refused connect.</summary>
    public const string ConnectAction = "Connect";

    public static IApplicationBuilder UseUserBans(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (!context.Request.Path.StartsWithSegments(HubRoutes.Rooms) || Authorization.HubsUser.From(context.User) is not { } user)
        {
            await next(context);
            return;
        }

        bool banned;
        try
        {
            banned = await context.RequestServices.GetRequiredService<IUserBans>().IsBannedAsync(user.UserId, context.RequestAborted);
        }
        catch (Authorization.HubsErrorException refusal)
        {
            // Redis is away: the connect could not be served anyway (presence needs it), and is refused plainly.
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await context.Response.WriteAsync($"{refusal.Code}: {refusal.SafeText}", context.RequestAborted);
            return;
        }

        if (banned)
        {
            // An authorization denial like any other: one audit record, whose ref id the refused client gets.
            var refId = Authorization.RefIds.New();
            await context.RequestServices.GetRequiredService<Audit.AuditTrail>()
                .RefusedAsync(user.UserId, Audit.AuditVia.Hub, ConnectAction, null, null, ErrorCodes.Forbidden, refId);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsync($"{RefusalText} (ref {refId})", context.RequestAborted);
            return;
        }

        await next(context);
    });
}
