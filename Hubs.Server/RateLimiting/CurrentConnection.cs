using Microsoft.AspNetCore.Connections;

namespace Hubs.Server.RateLimiting;

/// <summary>
/// The hub connection whose messages are being parsed. SignalR's hub protocol is a singleton that is handed only the
/// bytes; the connection's receive loop runs inside this middleware, so the value flows into every parse of that
/// connection's messages (and nowhere else).
/// </summary>
internal static class CurrentConnection
{
    private static readonly AsyncLocal<ConnectionContext?> Current = new();

    public static ConnectionContext? Value => Current.Value;

    public static IConnectionBuilder UseCurrentConnection(this IConnectionBuilder connections) =>
        connections.Use(next => async connection =>
        {
            Current.Value = connection;
            await next(connection);
        });
}
