using System.Net.WebSockets;
using Hubs.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hubs.LoadTest;

/// <summary>
/// Counts, by code, the reconnect attempts that a server refused, from the clients' own log (a reconnect happens
/// inside <see cref="HubsClient"/>, so its log is where a refusal shows). A node that is gone does not answer at all:
/// trying it is how failover works, not an error.
/// </summary>
internal sealed class RefusedReconnectCounter(ErrorCounter errors) : ILoggerFactory, ILogger
{
    // Hubs.Client's stable event id for "Reconnect attempt {Attempt} failed".
    private const int ReconnectFailed = 4;

    private static readonly string Category = typeof(HubsClient).FullName!;

    public ILogger CreateLogger(string categoryName) => categoryName == Category ? this : NullLogger.Instance;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id == ReconnectFailed && exception is not null && IsRefusal(exception))
        {
            errors.Add(exception);
        }
    }

    private static bool IsRefusal(Exception error) => error switch
    {
        HubsException => true,
        HttpRequestException { StatusCode: not null } => true,
        WebSocketException { WebSocketErrorCode: WebSocketError.NotAWebSocket } => true,
        AggregateException { InnerException: { } inner } => IsRefusal(inner),
        _ => false,
    };
}
