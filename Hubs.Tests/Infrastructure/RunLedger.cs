using System.Collections.Concurrent;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// Every log line any server wrote during the test run, and every secret the run used (tokens, tickets, message
/// texts), so that one check after the run can prove none of them reached a log (T26). When
/// <see cref="DirectoryVariable"/> names a directory (test.sh sets it), both are written there at the end of the run.
/// </summary>
internal static class RunLedger
{
    public const string DirectoryVariable = "HUBS_RUN_LEDGER";
    public const string LinesFile = "log-lines.txt";
    public const string SecretsFile = "secrets.txt";

    // Shorter texts ("hi", "ok") could match ordinary log words by chance; tests send longer ones as well.
    private const int ShortestRecordedText = 8;

    private static readonly ConcurrentQueue<string> Lines = new();
    private static readonly ConcurrentDictionary<string, byte> Secrets = new(StringComparer.Ordinal);

    public static void Line(string line) => Lines.Enqueue(line);

    public static void Secret(string? value)
    {
        if (value is { Length: >= ShortestRecordedText })
        {
            Secrets.TryAdd(value, 0);
        }
    }

    /// <summary>
    /// Writes both lists to the directory named by <see cref="DirectoryVariable"/>, if any, unless no server ran (as
    /// in the run that checks them).
    /// </summary>
    public static void Save()
    {
        var directory = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (string.IsNullOrEmpty(directory) || Lines.IsEmpty)
        {
            return;
        }

        Directory.CreateDirectory(directory);

        // One entry per line: secrets and lines are written with their line breaks escaped.
        File.WriteAllLines(Path.Combine(directory, LinesFile), Lines.Select(Escape));
        File.WriteAllLines(Path.Combine(directory, SecretsFile), Secrets.Keys.Select(Escape));
    }

    public static string Escape(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);
}
