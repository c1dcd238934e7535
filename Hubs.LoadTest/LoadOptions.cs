using System.Globalization;
using System.Net;

namespace Hubs.LoadTest;

/// <summary>What to run, against what, how hard. Parsed from the command line; tests build it directly.</summary>
internal sealed record LoadOptions
{
    public const string Usage = """
        usage: hubs-load <fanout|echo|idle|connect-join|churn|storm> --url <hub url>[,<hub url>...] [options]

          --url U[,U...]          hub URLs (http://host:port/hubs/rooms); clients spread over them and fail over
          --signing-key K         mint tokens locally (HS256) with the nodes' Auth__SigningKey
          --issuer I --audience A token issuer and audience (default hubs / hubs)
                                  without --signing-key, tokens come from POST /dev/token (Development nodes)
          --clients C             fanout: receiving members; echo: connections (default 50)
          --senders S             fanout: sending members (default 1)
          --messages M            fanout: messages in all (default 1000)
          --window W              fanout/echo: calls in flight per sender or connection (default 1)
          --rate R                fanout: messages per second in all (default: as fast as acknowledged)
          --duration SECONDS      echo, idle: how long (default 10); storm: give up after (default 60)
          --connections K         idle, connect-join, churn, storm: connections (default 100)
          --room-size N           idle, connect-join, storm: rooms of at most N members, connection i in room i/N
                                  (default 100; 0: all in one room)
          --victim-pid PID        storm (required): the server process behind the first --url, on this machine;
                                  killed (SIGKILL) once every storm client is connected to it and joined
          --drain                 storm: SIGTERM instead, so that the victim drains gracefully
          --cycles N              churn: connect/join/leave/disconnect cycles (default 200)
          --concurrency P         connect-join, churn: at once (default 16)
          --source-addresses A,B  local addresses to connect from (e.g. 127.0.0.2,127.0.0.3) when one runs out of ports
          --messagepack           use the MessagePack protocol
          --server-pid PID        a server process on this machine: report its CPU seconds and RSS (repeatable)
          --json FILE             write the summary as JSON
          --quiet                 no progress lines
        """;

    public required string Scenario { get; init; }

    public required IReadOnlyList<Uri> Urls { get; init; }

    public string? SigningKey { get; init; }

    public string Issuer { get; init; } = "hubs";

    public string Audience { get; init; } = "hubs";

    public int Clients { get; init; } = 50;

    public int Senders { get; init; } = 1;

    public int Messages { get; init; } = 1000;

    public int Window { get; init; } = 1;

    public double? Rate { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    public int Connections { get; init; } = 100;

    /// <summary>Members per room (connection i joins room i / RoomSize); 0 puts every connection in one room.</summary>
    public int RoomSize { get; init; } = 100;

    public int Cycles { get; init; } = 200;

    /// <summary>Storm: the process serving <c>Urls[0]</c>, ended once every client is on it.</summary>
    public int? VictimPid { get; init; }

    /// <summary>Storm: end the victim with SIGTERM (a graceful drain) rather than SIGKILL.</summary>
    public bool Drain { get; init; }

    public int Concurrency { get; init; } = 16;

    public IReadOnlyList<IPAddress> SourceAddresses { get; init; } = [];

    public bool MessagePack { get; init; }

    public IReadOnlyList<int> ServerPids { get; init; } = [];

    public string? JsonPath { get; init; }

    public bool Quiet { get; init; }

    /// <summary>Prefix of the room and user ids this run creates, so that runs do not collide.</summary>
    public string RunId { get; init; } = Guid.NewGuid().ToString("N")[..8];

    public const int MaxRoomSize = 100_000;

    public static readonly string[] Scenarios = ["fanout", "echo", "idle", "connect-join", "churn", "storm"];

    /// <summary>Parses arguments; throws <see cref="ArgumentException"/> with a message fit for the user.</summary>
    public static LoadOptions Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || !Scenarios.Contains(args[0]))
        {
            throw new ArgumentException($"the first argument is the scenario: {string.Join(", ", Scenarios)}");
        }

        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{name}'");
            }

            if (name is "--messagepack" or "--quiet" or "--drain")
            {
                flags.Add(name);
                continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{name} needs a value");
            }

            if (!values.TryGetValue(name, out var list))
            {
                values[name] = list = [];
            }

            list.Add(args[++i]);
        }

        string? One(string name) => values.TryGetValue(name, out var v) ? v[^1] : null;
        IEnumerable<string> Many(string name) => values.TryGetValue(name, out var v) ? v.SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries)) : [];
        int Int(string name, int fallback, int min = 1, int max = int.MaxValue)
        {
            var text = One(name);
            if (text is null)
            {
                return fallback;
            }

            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
                ? value
                : throw new ArgumentException(max == int.MaxValue ? $"{name} must be a whole number of at least {min}" : $"{name} must be a whole number from {min} to {max}");
        }

        var known = new[]
        {
            "--url", "--signing-key", "--issuer", "--audience", "--clients", "--senders", "--messages", "--window", "--rate",
            "--duration", "--connections", "--room-size", "--cycles", "--concurrency", "--source-addresses", "--server-pid", "--json", "--victim-pid",
        };
        foreach (var name in values.Keys.Where(k => !known.Contains(k)))
        {
            throw new ArgumentException($"unknown option {name}");
        }

        var urls = Many("--url").Select(u => Uri.TryCreate(u, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new ArgumentException($"--url '{u}' is not an http(s) URL")).ToArray();
        if (urls.Length == 0)
        {
            throw new ArgumentException("--url is required");
        }

        var scenario = args[0];
        int? victim = One("--victim-pid") is { } v
            ? int.TryParse(v, CultureInfo.InvariantCulture, out var victimPid) && victimPid > 0 ? victimPid : throw new ArgumentException($"--victim-pid: '{v}' is not a process id")
            : null;
        if (scenario == "storm")
        {
            if (victim is null)
            {
                throw new ArgumentException("storm needs --victim-pid, the process serving the first --url");
            }

            if (urls.Length < 2)
            {
                throw new ArgumentException("storm needs at least two --url: the victim first, then the nodes its clients move to");
            }

            if (!urls[0].IsLoopback)
            {
                throw new ArgumentException($"storm: the victim URL '{urls[0]}' must be on this machine (loopback), as --victim-pid is");
            }
        }
        else if (victim is not null || flags.Contains("--drain"))
        {
            throw new ArgumentException("--victim-pid and --drain are for storm only");
        }

        double? rate = One("--rate") is { } r
            ? double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed > 0 ? parsed : throw new ArgumentException("--rate must be positive")
            : null;
        return new LoadOptions
        {
            Scenario = scenario,
            Urls = urls,
            SigningKey = One("--signing-key"),
            Issuer = One("--issuer") ?? "hubs",
            Audience = One("--audience") ?? "hubs",
            Clients = Int("--clients", 50),
            Senders = Int("--senders", 1),
            Messages = Int("--messages", 1000),
            Window = Int("--window", 1),
            Rate = rate,
            Duration = TimeSpan.FromSeconds(Int("--duration", scenario == "storm" ? 60 : 10)),
            Connections = Int("--connections", 100),
            RoomSize = Int("--room-size", 100, min: 0, max: MaxRoomSize),
            Cycles = Int("--cycles", 200),
            VictimPid = victim,
            Drain = flags.Contains("--drain"),
            Concurrency = Int("--concurrency", 16),
            SourceAddresses = Many("--source-addresses").Select(a => IPAddress.TryParse(a, out var ip)
                ? ip
                : throw new ArgumentException($"--source-addresses: '{a}' is not an IP address")).ToArray(),
            MessagePack = flags.Contains("--messagepack"),
            ServerPids = Many("--server-pid").Select(p => int.TryParse(p, CultureInfo.InvariantCulture, out var pid)
                ? pid
                : throw new ArgumentException($"--server-pid: '{p}' is not a process id")).ToArray(),
            JsonPath = One("--json"),
            Quiet = flags.Contains("--quiet"),
        };
    }
}
