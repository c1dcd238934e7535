using Microsoft.Extensions.Logging;

namespace Hubs.Client;

/// <summary>The client's log messages. Ids, codes and counts only: never tokens or message text.</summary>
internal static partial class ClientLog
{
    [LoggerMessage(1, LogLevel.Warning, "A {EventName} handler threw")]
    public static partial void HandlerFailed(ILogger logger, Exception error, string eventName);

    [LoggerMessage(2, LogLevel.Information, "Connection lost; reconnecting")]
    public static partial void ConnectionLost(ILogger logger, Exception? error);

    [LoggerMessage(3, LogLevel.Information, "Reconnect attempt {Attempt} in {Delay}")]
    public static partial void ReconnectScheduled(ILogger logger, int attempt, TimeSpan delay);

    [LoggerMessage(4, LogLevel.Information, "Reconnect attempt {Attempt} failed")]
    public static partial void ReconnectFailed(ILogger logger, Exception error, int attempt);

    [LoggerMessage(5, LogLevel.Information, "Reconnected as {ConnectionId}; rejoined {RoomCount} rooms")]
    public static partial void Reconnected(ILogger logger, string? connectionId, int roomCount);

    [LoggerMessage(6, LogLevel.Warning, "Access to room {RoomId} was lost while disconnected ({Code})")]
    public static partial void RejoinRefused(ILogger logger, string roomId, string code);

    [LoggerMessage(7, LogLevel.Warning, "Room {RoomId}: messages {From} to {To} are no longer in the server's history")]
    public static partial void HistoryGap(ILogger logger, string roomId, long from, long to);

    [LoggerMessage(8, LogLevel.Debug, "Room {RoomId}: catch-up stopped; the next reconnect or gap retries it")]
    public static partial void CatchUpFailed(ILogger logger, Exception error, string roomId);
}
