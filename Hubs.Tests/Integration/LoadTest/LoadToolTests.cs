using System.Diagnostics;
using System.Text.Json;
using Hubs.LoadTest;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.LoadTest;

/// <summary>
/// A short smoke of every load-tool scenario against the real server: the tool works and its counts are exact
/// (deliveries = messages × members, no errors). Throughput is never asserted: benchmarks report it.
/// </summary>
public sealed class LoadToolTests : ServerFixture
{
    [Test]
    public async Task Fanout_EveryMessageReachesEveryMember_LatencyPerDelivery()
    {
        var summary = await RunAsync(Options("fanout") with { Clients = 20, Senders = 2, Messages = 100, Window = 4 });

        Assert.Multiple(() =>
        {
            Assert.That(summary.Errors, Is.Empty);
            Assert.That((summary.Operations, summary.Succeeded), Is.EqualTo((100L, 100L)));
            Assert.That(summary.DeliveriesExpected, Is.EqualTo(100 * 22));
            Assert.That(summary.DeliveriesReceived, Is.EqualTo(summary.DeliveriesExpected));
            Assert.That(summary.Latency!.Samples, Is.EqualTo(100 * 22));
            Assert.That(summary.Latency.P50, Is.LessThanOrEqualTo(summary.Latency.P99));
            Assert.That(summary.Throughput, Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task Fanout_WithARate_AndMessagePack()
    {
        var summary = await RunAsync(Options("fanout") with { Clients = 5, Messages = 20, Rate = 100, MessagePack = true });

        Assert.Multiple(() =>
        {
            Assert.That(summary.Errors, Is.Empty);
            Assert.That(summary.DeliveriesReceived, Is.EqualTo(20 * 6));
            Assert.That(summary.Seconds, Is.GreaterThanOrEqualTo(0.19), "20 messages at 100/s take at least 190 ms");
        });
    }

    [Test]
    public async Task Echo_CallsThroughTheFullFilter()
    {
        var summary = await RunAsync(Options("echo") with { Clients = 5, Window = 2, Duration = TimeSpan.FromSeconds(1) });

        Assert.Multiple(() =>
        {
            Assert.That(summary.Errors, Is.Empty);
            Assert.That(summary.Succeeded, Is.GreaterThan(0).And.EqualTo(summary.Operations));
            Assert.That(summary.Latency!.Samples, Is.EqualTo(summary.Succeeded));
        });
    }

    [Test]
    public async Task Idle_ConnectionsHeld_ServerUsageReadFromProc()
    {
        // This process hosts the server: its /proc entry stands in for a server's.
        var summary = await RunAsync(Options("idle") with
        {
            Connections = 30,
            Duration = TimeSpan.FromSeconds(1),
            ServerPids = [Environment.ProcessId],
            SourceAddresses = [System.Net.IPAddress.Parse("127.0.0.2"), System.Net.IPAddress.Parse("127.0.0.3")],
        });

        Assert.Multiple(() =>
        {
            Assert.That(summary.Errors, Is.Empty);
            Assert.That(summary.Succeeded, Is.EqualTo(30));
            Assert.That(summary.ServerCpuSeconds, Is.GreaterThanOrEqualTo(0));
            Assert.That(summary.ServerRssBytes, Is.GreaterThan(0));
            Assert.That(summary.RssBytesPerConnection, Is.Not.Null);
        });
    }

    [Test]
    public async Task Idle_RoomSize_RoomsOfThatSizeWhileHeld()
    {
        var options = Options("idle") with { Connections = 30, RoomSize = 10, Duration = TimeSpan.FromSeconds(4) };
        var run = RunAsync(options);
        var observer = await ConnectAsync("idle-observer");
        var rooms = Enumerable.Range(0, 3).Select(r => $"load-idle-{options.RunId}-{r}").ToArray();

        // Seen by a connection of the test's own while the tool holds its connections.
        await Await.UntilAsync(async () =>
        {
            var listed = await observer.InvokeAsync<IReadOnlyList<Hubs.Contracts.RoomInfo>>(nameof(Hubs.Contracts.IRoomHub.ListRooms));
            return rooms.All(id => listed.Any(r => r.RoomId == id && r.MemberCount == 10));
        }, "three rooms of 10 members each", TimeSpan.FromSeconds(4));
        var summary = await run;
        var all = await observer.InvokeAsync<IReadOnlyList<Hubs.Contracts.RoomInfo>>(nameof(Hubs.Contracts.IRoomHub.ListRooms));

        Assert.Multiple(() =>
        {
            Assert.That(summary.Errors, Is.Empty);
            Assert.That(summary.Succeeded, Is.EqualTo(30));
            Assert.That(summary.RoomMembers, Is.EqualTo(new[] { 10, 10, 10 }));
            Assert.That(all.Count(r => r.RoomId.StartsWith($"load-idle-{options.RunId}", StringComparison.Ordinal)), Is.EqualTo(3), "no fourth room");
        });
    }

    [Test]
    public async Task ConnectJoin_EveryConnectionJoins_OneRoomWithRoomSizeZero()
    {
        var summary = await RunAsync(Options("connect-join") with { Connections = 40, Concurrency = 8, RoomSize = 0 });

        Assert.Multiple(() =>
        {
            Assert.That(summary.Errors, Is.Empty);
            Assert.That((summary.Operations, summary.Succeeded), Is.EqualTo((40L, 40L)));
            Assert.That(summary.Latency!.Samples, Is.EqualTo(40));
            Assert.That(summary.RoomMembers, Is.EqualTo(new[] { 40 }));
        });
    }

    [Test]
    public async Task ConnectJoin_RoomSize_LastRoomHoldsTheRest()
    {
        var summary = await RunAsync(Options("connect-join") with { Connections = 25, Concurrency = 8, RoomSize = 10 });

        Assert.Multiple(() =>
        {
            Assert.That(summary.Errors, Is.Empty);
            Assert.That((summary.Operations, summary.Succeeded), Is.EqualTo((25L, 25L)));
            Assert.That(summary.RoomMembers, Is.EqualTo(new[] { 10, 10, 5 }), "as the server counts them");
        });
    }

    [Test]
    public async Task Churn_CyclesCompleteAndLeaveNothingBehind()
    {
        var options = Options("churn") with { Cycles = 40, Concurrency = 4 };
        var summary = await RunAsync(options);
        var observer = await ConnectAsync("churn-observer");
        var members = await observer.InvokeAsync<IReadOnlyList<Hubs.Contracts.RoomInfo>>(nameof(Hubs.Contracts.IRoomHub.ListRooms));

        Assert.Multiple(() =>
        {
            Assert.That(summary.Errors, Is.Empty);
            Assert.That((summary.Operations, summary.Succeeded), Is.EqualTo((40L, 40L)));
            Assert.That(members.Single(r => r.RoomId == $"load-churn-{options.RunId}").MemberCount, Is.EqualTo(0), "every cycle left");
        });
    }

    [Test]
    public async Task CommandLine_PrintsProgressAndSummary_WritesJson()
    {
        var json = Path.Combine(Path.GetTempPath(), $"hubs-load-{Guid.NewGuid():N}.json");
        // Exactly as a user runs it (already built by the solution build).
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "run", "--project", Path.Combine(Repository.Root, "Hubs.LoadTest"), "--no-build", "-c", configuration, "--",
            "fanout", "--url", Server.HubUrl.ToString(),
            "--signing-key", TestTokens.SigningKey, "--issuer", TestTokens.Issuer, "--audience", TestTokens.Audience,
            "--clients", "10", "--messages", "400", "--rate", "200", "--json", json,
        })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var progress = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().Within(TimeSpan.FromSeconds(25));
        Assert.That(process.ExitCode, Is.EqualTo(0), await progress + await output);
        using var written = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        File.Delete(json);

        Assert.Multiple(async () =>
        {
            Assert.That(await progress, Does.Match(@"\[\s*1s\] sent \d+/400, deliveries \d+/4400"));
            Assert.That(await output, Does.Contain("deliveries    4400 of 4400").And.Contain("latency ms    p50"));
            Assert.That(written.RootElement.GetProperty("deliveriesReceived").GetInt64(), Is.EqualTo(4400));
        });
    }

    [Test]
    public void CommandLine_BadArguments_ClearError()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => LoadOptions.Parse(["flood", "--url", "http://x/hubs/rooms"]), Throws.ArgumentException.With.Message.Contains("scenario"));
            Assert.That(() => LoadOptions.Parse(["fanout"]), Throws.ArgumentException.With.Message.EqualTo("--url is required"));
            Assert.That(() => LoadOptions.Parse(["fanout", "--url", "ftp://x"]), Throws.ArgumentException.With.Message.Contains("not an http(s) URL"));
            Assert.That(() => LoadOptions.Parse(["fanout", "--url", "http://x", "--clients", "0"]), Throws.ArgumentException.With.Message.Contains("--clients"));
            Assert.That(() => LoadOptions.Parse(["fanout", "--url", "http://x", "--bogus", "1"]), Throws.ArgumentException.With.Message.Contains("unknown option --bogus"));
            Assert.That(() => LoadOptions.Parse(["idle", "--url", "http://x", "--room-size", "-1"]), Throws.ArgumentException.With.Message.EqualTo("--room-size must be a whole number from 0 to 100000"));
            Assert.That(() => LoadOptions.Parse(["idle", "--url", "http://x", "--room-size", "100001"]), Throws.ArgumentException.With.Message.Contains("--room-size"));
            Assert.That(LoadOptions.Parse(["idle", "--url", "http://x"]).RoomSize, Is.EqualTo(100));
            Assert.That(LoadOptions.Parse(["connect-join", "--url", "http://x", "--room-size", "0"]).RoomSize, Is.EqualTo(0));
            Assert.That(() => LoadOptions.Parse(["storm", "--url", "http://127.0.0.1:1,http://127.0.0.1:2"]), Throws.ArgumentException.With.Message.Contains("--victim-pid"));
            Assert.That(() => LoadOptions.Parse(["storm", "--url", "http://127.0.0.1:1", "--victim-pid", "42"]), Throws.ArgumentException.With.Message.Contains("at least two --url"));
            Assert.That(() => LoadOptions.Parse(["storm", "--url", "http://a:1,http://127.0.0.1:2", "--victim-pid", "42"]), Throws.ArgumentException.With.Message.Contains("loopback"));
            Assert.That(() => LoadOptions.Parse(["idle", "--url", "http://x", "--drain"]), Throws.ArgumentException.With.Message.Contains("storm only"));
            var storm = LoadOptions.Parse(["storm", "--url", "http://localhost:1,http://b:2", "--victim-pid", "42", "--drain"]);
            Assert.That((storm.VictimPid, storm.Drain, storm.Duration, storm.Connections, storm.RoomSize), Is.EqualTo(((int?)42, true, TimeSpan.FromSeconds(60), 100, 100)));
            var parsed = LoadOptions.Parse(["echo", "--url", "http://a/hubs/rooms,http://b/hubs/rooms", "--window", "8", "--messagepack"]);
            Assert.That((parsed.Scenario, parsed.Window, parsed.MessagePack, parsed.Urls.Count), Is.EqualTo(("echo", 8, true, 2)));
        });
    }


    private LoadOptions Options(string scenario) => new()
    {
        Scenario = scenario,
        Urls = [Server.HubUrl],
        SigningKey = TestTokens.SigningKey,
        Issuer = TestTokens.Issuer,
        Audience = TestTokens.Audience,
        Quiet = true,
    };

    private static async Task<LoadSummary> RunAsync(LoadOptions options)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(25));
        return await new LoadRunner(options, TextWriter.Null).RunAsync(timeout.Token);
    }
}
