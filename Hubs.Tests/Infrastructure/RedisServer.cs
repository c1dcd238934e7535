using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// A throwaway <c>redis-server</c> on a free loopback port, with its data in a temporary directory (append-only
/// file on, so a restart keeps what was acknowledged). When it cannot be started the test fails under CI and is
/// ignored elsewhere.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory;
    private Process? _process;

    private RedisServer(int port, string directory)
    {
        Port = port;
        _directory = directory;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var server = Reserve();
        await server.RunAsync();
        return server;
    }

    /// <summary>A server with its free port and data directory chosen but not started: <see cref="RunAsync"/> starts it.</summary>
    public static RedisServer Reserve()
    {
        if (FindExecutable() is null)
        {
            const string why = "redis-server is not installed (./test.sh installs it)";
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
            {
                Assert.Fail(why);
            }

            Assert.Ignore(why);
        }

        return new RedisServer(FreePort(), Directory.CreateTempSubdirectory("hubs-redis-").FullName);
    }

    /// <summary>Kills the server (SIGKILL), as a crash or a network cut would.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Starts the process on its port and data directory, and returns once it has loaded its data and answers: a
    /// reserved server for the first time, a stopped one again.
    /// </summary>
    public async Task RunAsync()
    {
        var info = new ProcessStartInfo(FindExecutable()!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _directory, "--save", "",
            "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "yes",
        })
        {
            info.ArgumentList.Add(argument);
        }

        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync($"{Configuration},connectTimeout=500");
                await probe.GetDatabase().PingAsync();
                return;
            }
            catch (RedisException error) when (
                (error is RedisConnectionException || error.Message.StartsWith("LOADING", StringComparison.Ordinal))
                && DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }

    /// <summary>Keys of this deployment, for baseline comparisons.</summary>
    public async Task<IReadOnlyList<string>> KeysAsync(string pattern = "hubs:*")
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Configuration);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        return server.Keys(pattern: pattern).Select(k => k.ToString()).Order(StringComparer.Ordinal).ToArray();
    }

    public async Task<IReadOnlyList<string>> SetMembersAsync(string key)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Configuration);
        return (await redis.GetDatabase().SetMembersAsync(key)).Select(v => v.ToString()).ToArray();
    }

    /// <summary>How many times the server ran each of <paramref name="commands"/> since it started, summed (INFO commandstats).</summary>
    public async Task<long> CommandCallsAsync(params string[] commands)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Configuration + ",allowAdmin=true");
        var stats = (await redis.GetServer(redis.GetEndPoints()[0]).InfoAsync("commandstats")).SelectMany(g => g).ToArray();
        return commands.Sum(command => stats.Where(s => s.Key == "cmdstat_" + command)
            .Select(s => long.Parse(s.Value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture))
            .SingleOrDefault());
    }

    /// <summary>The channels matching <paramref name="pattern"/> that have subscribers, with how many (PUBSUB CHANNELS, NUMSUB).</summary>
    public async Task<IReadOnlyDictionary<string, long>> SubscribersAsync(string pattern)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Configuration);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var channel in await server.SubscriptionChannelsAsync(RedisChannel.Pattern(pattern)))
        {
            counts[channel.ToString()] = await server.SubscriptionSubscriberCountAsync(channel);
        }

        return counts;
    }

    public async Task<long> HashLengthAsync(string key)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Configuration);
        return await redis.GetDatabase().HashLengthAsync(key);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? FindExecutable() =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists)
        ?? Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(p => Path.Combine(p, "redis-server")).FirstOrDefault(File.Exists);

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
