namespace Hubs.Contracts;

/// <summary>HTTP paths served by a Hubs node.</summary>
public static class HubRoutes
{
    /// <summary>The SignalR room hub.</summary>
    public const string Rooms = "/hubs/rooms";

    /// <summary>
    /// <c>POST</c> with <c>Authorization: Bearer &lt;jwt&gt;</c>: a single-use, 30-second ticket to use in place of the JWT
    /// as <c>access_token</c> on the hub URL, so that browsers never put a JWT in a URL.
    /// </summary>
    public const string Ticket = "/auth/ticket";

    /// <summary>Development-only endpoint that mints a token signed with the node's key.</summary>
    public const string DevToken = "/dev/token";

    /// <summary>Liveness probe.</summary>
    public const string Live = "/healthz/live";

    /// <summary>Readiness probe.</summary>
    public const string Ready = "/healthz/ready";
}
