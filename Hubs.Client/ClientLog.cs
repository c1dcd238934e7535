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

    [LoggerMessage(5, LogLevel.Information, "Reconnected to {Node}; rejoined {RoomCount} rooms")]
    public static partial void Reconnected(ILogger logger, string node, int roomCount);

    [LoggerMessage(6, LogLevel.Warning, "Access to room {RoomId} was lost while disconnected ({Code})")]
    public static partial void RejoinRefused(ILogger logger, string roomId, string code);

    [LoggerMessage(7, LogLevel.Warning, "Room {RoomId}: messages {From} to {To} are no longer in the server's history")]
    public static partial void HistoryGap(ILogger logger, string roomId, long from, long to);

    [LoggerMessage(8, LogLevel.Debug, "Room {RoomId}: catch-up stopped; the next reconnect or gap retries it")]
    public static partial void CatchUpFailed(ILogger logger, Exception error, string roomId);

    [LoggerMessage(9, LogLevel.Information, "Node {Node} could not be reached")]
    public static partial void NodeUnreachable(ILogger logger, Exception error, string node);

    [LoggerMessage(10, LogLevel.Information, "Replaced the connection before its token expired; now on {Node} with {RoomCount} rooms")]
    public static partial void ConnectionReplaced(ILogger logger, string node, int roomCount);

    [LoggerMessage(11, LogLevel.Warning, "Could not replace the connection before its token expires; trying again")]
    public static partial void ReplacementFailed(ILogger logger, Exception error);

    [LoggerMessage(12, LogLevel.Debug, "Room {RoomId}: send attempt {Attempt} not acknowledged; sending again with the same clientMessageId")]
    public static partial void SendRetry(ILogger logger, string roomId, int attempt);

    [LoggerMessage(13, LogLevel.Warning, "The token provider returned no fresher token; the connection is kept until its token expires")]
    public static partial void NoFresherToken(ILogger logger);

    [LoggerMessage(14, LogLevel.Debug, "Closing a replaced connection failed")]
    public static partial void RetireFailed(ILogger logger, Exception error);

    [LoggerMessage(15, LogLevel.Debug, "Room {RoomId}: paging the members in stopped; the next rejoin or truncated digest retries it")]
    public static partial void RosterPagingFailed(ILogger logger, Exception error, string roomId);
}
