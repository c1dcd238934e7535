using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using Hubs.Client;

namespace Hubs.LoadTest;

/// <summary>Latencies of one run, in milliseconds; thread-safe.</summary>
internal sealed class LatencyRecorder
{
    private readonly Lock _gate = new();
    private readonly List<double> _samples = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _samples.Count;
            }
        }
    }

    public void Add(long startTimestamp) => AddMilliseconds(Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds);

    public void AddMilliseconds(double milliseconds)
    {
        lock (_gate)
        {
            _samples.Add(milliseconds);
        }
    }

    public LatencySummary? Summarize()
    {
        double[] sorted;
        lock (_gate)
        {
            if (_samples.Count == 0)
            {
                return null;
            }

            sorted = [.. _samples];
        }

        Array.Sort(sorted);
        double At(double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
        return new LatencySummary(sorted.Length, At(0.5), At(0.95), At(0.99), sorted[^1]);
    }
}

/// <summary>Errors by code: the contract's codes, <c>http_&lt;status&gt;</c> for refused connects, else the failure's type.</summary>
internal sealed partial class ErrorCounter
{
    private readonly ConcurrentDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public long Total => _counts.Values.Sum();

    public void Add(Exception error) => Add(CodeOf(error));

    /// <summary>An error the client reported as an event rather than an exception.</summary>
    public void Add(string code) => _counts.AddOrUpdate(code, 1, (_, n) => n + 1);

    public IReadOnlyDictionary<string, long> Snapshot() => new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);

    private static string CodeOf(Exception error) => error switch
    {
        HubsException hubs => hubs.Code,
        HttpRequestException { StatusCode: { } status } => "http_" + ((int)status).ToString(CultureInfo.InvariantCulture),
        // A WebSocket connect without negotiation learns the refusal only from the upgrade's status line.
        WebSocketException { WebSocketErrorCode: WebSocketError.NotAWebSocket } refused when UpgradeStatus().Match(refused.Message) is { Success: true } status =>
            "http_" + status.Groups[1].Value,
        AggregateException { InnerException: { } inner } => CodeOf(inner),
        _ => error.GetType().Name,
    };

    [GeneratedRegex(@"status code '(\d{3})'")]
    private static partial Regex UpgradeStatus();
}

/// <summary>CPU and memory of server processes on this machine, read from <c>/proc</c>.</summary>
internal sealed record ServerUsage(double CpuSeconds, long RssBytes)
{
    // Linux reports process times in clock ticks of USER_HZ, which is 100 on every mainstream platform.
    private const double TicksPerSecond = 100;

    public static ServerUsage? Capture(IReadOnlyList<int> pids)
    {
        if (pids.Count == 0 || !OperatingSystem.IsLinux())
        {
            return null;
        }

        double cpu = 0;
        long rss = 0;
        foreach (var pid in pids)
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th, stime the 15th.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            cpu += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            var rssLine = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            rss += long.Parse(rssLine.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }

        return new ServerUsage(cpu, rss);
    }
}

internal sealed record LatencySummary(int Samples, double P50, double P95, double P99, double Max);

/// <summary>
/// Storm: of <paramref name="Clients"/> (<paramref name="OnVictim"/> of them on the victim at the signal; the others
/// could not connect to it), how many were <paramref name="Back"/> (on a surviving node, room rejoined);
/// seconds from the signal until all were back and until all had their room's message; null when that did not happen
/// within <paramref name="GaveUpAfter"/>.
/// </summary>
internal sealed record StormResult(int Clients, int OnVictim, int Back, double? BackSeconds, double? ReceivedSeconds, TimeSpan GaveUpAfter)
{
    public bool Complete => ReceivedSeconds is not null;
}

/// <summary>What a run did. Counts are exact; rates are per second of the measured phase.</summary>
internal sealed record LoadSummary
{
    public required string Scenario { get; init; }

    public required double Seconds { get; init; }

    /// <summary>Messages sent (fanout), calls made (echo), connections opened (idle, connect-join), cycles (churn).</summary>
    public required long Operations { get; init; }

    /// <summary>Operations that succeeded.</summary>
    public required long Succeeded { get; init; }

    /// <summary>Fanout: messages × members; others: 0.</summary>
    public long DeliveriesExpected { get; init; }

    public long DeliveriesReceived { get; init; }

    public required double Throughput { get; init; }

    public required string ThroughputUnit { get; init; }

    public LatencySummary? Latency { get; init; }

    public required IReadOnlyDictionary<string, long> Errors { get; init; }

    public double? ServerCpuSeconds { get; init; }

    public long? ServerRssBytes { get; init; }

    /// <summary>The main count (deliveries, calls, connections, cycles) per server CPU-second.</summary>
    public double? PerServerCpuSecond { get; init; }

    /// <summary>Idle, connect-join: each room's member count as the server reported it once everyone joined.</summary>
    public IReadOnlyList<int>? RoomMembers { get; init; }

    /// <summary>Storm: how the victim's clients came back.</summary>
    public StormResult? Storm { get; init; }

    /// <summary>Idle: growth of the servers' RSS per connection.</summary>
    public double? RssBytesPerConnection { get; init; }

    public long ErrorCount => Errors.Values.Sum();

    public string ToText()
    {
        var lines = new List<string>
        {
            $"scenario      {Scenario}",
            $"duration      {Seconds:0.00} s",
            $"operations    {Operations} ({Succeeded} succeeded)",
        };
        if (DeliveriesExpected > 0)
        {
            lines.Add($"deliveries    {DeliveriesReceived} of {DeliveriesExpected}");
        }

        if (RoomMembers is { Count: > 0 } members)
        {
            lines.Add($"rooms         {members.Count}, members {members.Min()} to {members.Max()} ({members.Sum()} in all)");
        }

        if (Storm is { } storm)
        {
            lines.Add($"victim        {storm.OnVictim} of {storm.Clients} clients on it at the signal");
            lines.Add(storm.BackSeconds is { } back
                ? $"back          {storm.Back} of {storm.Clients} clients in {back:0.00} s"
                : $"back          {storm.Back} of {storm.Clients} clients; {storm.Clients - storm.Back} not back after {storm.GaveUpAfter.TotalSeconds:0} s");
            lines.Add(storm.ReceivedSeconds is { } all
                ? $"received      all {storm.Clients} in {all:0.00} s"
                : $"received      {DeliveriesReceived} of {storm.Clients}; {storm.Clients - DeliveriesReceived} missing after {storm.GaveUpAfter.TotalSeconds:0} s");
        }

        lines.Add($"throughput    {Throughput:0.0} {ThroughputUnit}");
        if (Latency is { } l)
        {
            lines.Add($"latency ms    p50 {l.P50:0.00}  p95 {l.P95:0.00}  p99 {l.P99:0.00}  max {l.Max:0.00}  ({l.Samples} samples)");
        }

        lines.Add("errors        " + (Errors.Count == 0 ? "none" : string.Join(", ", Errors.Select(e => $"{e.Key} {e.Value}"))));
        if (ServerCpuSeconds is { } cpu)
        {
            lines.Add($"server        {cpu:0.00} CPU s, RSS {ServerRssBytes / 1024.0 / 1024.0:0.0} MiB");
        }

        if (PerServerCpuSecond is { } per)
        {
            lines.Add($"per server CPU-second  {per:0} {ThroughputUnit.Split('/')[0]}");
        }

        if (RssBytesPerConnection is { } rss)
        {
            lines.Add($"RSS per connection     {rss / 1024.0:0.0} KB");
        }

        return string.Join(Environment.NewLine, lines);
    }
}
