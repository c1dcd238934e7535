using System.Diagnostics;
using System.Text.RegularExpressions;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests.Integration.TypeScript;

/// <summary>
/// Runs the TypeScript client's own tests (node's test runner, <c>Hubs.Client/typescript/test</c>) against the real
/// server built with this suite and a throwaway redis-server. <c>test.sh</c> installs and builds the package first.
/// </summary>
[NonParallelizable]
public sealed partial class TypeScriptClientTests
{
    private static readonly string Package = Path.Combine(Repository.Root, "Hubs.Client", "typescript");

    [TestCase("client.test.mjs", 5)]
    [TestCase("reconnect.test.mjs", 1)]
    [TestCase("recovery.test.mjs", 1)]
    [TestCase("delivery.test.mjs", 5)]
    [TestCase("roster.test.mjs", 7)]
    [TestCase("largeroom.test.mjs", 1)]
    public async Task NodeTests_PassAgainstTheRealServer(string file, int tests)
    {
        RequireBuiltPackage();
        await using var redis = await RedisServer.StartAsync();

        var (exitCode, output) = await RunNodeAsync(file, redis.Configuration);

        var counts = TapCounts().Matches(output).ToDictionary(m => m.Groups[1].Value, m => int.Parse(m.Groups[2].Value));
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero, output);
            Assert.That(counts.GetValueOrDefault("pass"), Is.EqualTo(tests), output);
            Assert.That(counts.GetValueOrDefault("fail"), Is.Zero, output);
            Assert.That(counts.GetValueOrDefault("skipped"), Is.Zero, output);
        });
    }

    private static void RequireBuiltPackage()
    {
        if (!File.Exists(Path.Combine(Package, "dist", "index.js")) || !Directory.Exists(Path.Combine(Package, "node_modules")))
        {
            Assert.Fail("The TypeScript client is not built: run `npm ci && npm run build` in Hubs.Client/typescript (./test.sh does).");
        }
    }

    private static async Task<(int ExitCode, string Output)> RunNodeAsync(string file, string redis)
    {
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = Package,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--test", "--test-reporter=tap", "--test-concurrency=1", Path.Combine("test", file) })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["HUBS_SERVER_DLL"] = Path.Combine(AppContext.BaseDirectory, "Hubs.Server.dll");
        info.Environment["HUBS_REDIS"] = redis;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(28));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output + await error);
    }

    [GeneratedRegex(@"^# (pass|fail|skipped) (\d+)$", RegexOptions.Multiline)]
    private static partial Regex TapCounts();
}
