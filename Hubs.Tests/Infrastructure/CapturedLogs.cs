using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Infrastructure;

/// <summary>Keeps every formatted log line of a test server, so tests can assert on what was (not) logged.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<LogLine> _lines = new();

    public IReadOnlyCollection<LogLine> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, _lines);

    public void Dispose()
    {
    }

    public string AllText() => string.Join("\n", _lines.Select(l => l.ToString()));

    internal sealed record LogLine(string Category, LogLevel Level, EventId EventId, string Message, string? Exception)
    {
        public override string ToString() => $"{Level} {Category}[{EventId.Id}] {Message} {Exception}";
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<LogLine> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = new LogLine(category, logLevel, eventId, formatter(state, exception), exception?.ToString());
            lines.Enqueue(line);
            RunLedger.Line(line.ToString());
        }
    }
}
