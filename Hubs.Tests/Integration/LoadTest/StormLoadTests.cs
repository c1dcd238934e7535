using Hubs.Contracts;
using Hubs.LoadTest;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests.Integration.LoadTest;

/// <summary>
/// A short smoke of hubs-load's storm: every client is on a victim node (its own process), which the tool kills or
/// drains; the tool reports every client back on the surviving node with its room rejoined and every room's message
/// received by every member, with exact counts and no errors.
/// </summary>
public sealed class StormLoadTests : ClusterFixture
{
    private const int Connections = 20;
    private const int RoomSize = 5;

    protected override int NodeCount => 1;

    [Test]
    public async Task Storm_VictimKilled_EveryClientBackAndEveryMessageReceived()
    {
        await using var victim = await StartVictimAsync();

        var summary = await RunAsync(await StormOptionsAsync(victim));
        TestContext.Out.WriteLine(summary.ToText());

        Assert.Multiple(async () =>
        {
            AssertComplete(summary);
            Assert.That(await victim.ExitCodeAsync(), Is.EqualTo(128 + 9), "ended by SIGKILL");
        });
    }

    [Test]
    public async Task Storm_VictimDrained_ClientsMoveWithoutErrors()
    {
        await using var victim = await StartVictimAsync();

        var summary = await RunAsync(await StormOptionsAsync(victim) with { Drain = true });
        TestContext.Out.WriteLine(summary.ToText());

        Assert.Multiple(async () =>
        {
            AssertComplete(summary);
            Assert.That(await victim.ExitCodeAsync(), Is.EqualTo(0), "a drained node exits by itself");
        });
    }

    private static void AssertComplete(LoadSummary summary)
    {
        Assert.That(summary.Errors, Is.Empty, "no refused reconnect, no send failure, no unrepaired gap");
        Assert.That(summary.Storm, Is.Not.Null);
        Assert.That((summary.Storm!.Clients, summary.Storm.OnVictim, summary.Storm.Back), Is.EqualTo((Connections, Connections, Connections)));
        Assert.That((summary.DeliveriesExpected, summary.DeliveriesReceived), Is.EqualTo(((long)Connections, (long)Connections)), "one message per room, to each member");
        Assert.That(summary.Storm.ReceivedSeconds, Is.Not.Null, "complete within the duration");
        Assert.That(summary.Storm.BackSeconds, Is.Not.Null.And.LessThanOrEqualTo(summary.Storm.ReceivedSeconds ?? 0));
        Assert.That(summary.ServerCpuSeconds, Is.GreaterThanOrEqualTo(0), "the survivor's CPU, read from /proc");
    }

    /// <summary>A node of this cluster as its own process, with the test servers' raised limits.</summary>
    private ServerProcess StartVictim() => ServerProcess.Start("Development", new Dictionary<string, string>
    {
        ["Redis__Configuration"] = Redis.Configuration,
        ["Hubs__Presence__TimeoutSeconds"] = PresenceTimeoutSeconds.ToString(),
        ["Auth__SigningKey"] = TestTokens.SigningKey,
        ["Auth__Issuer"] = TestTokens.Issuer,
        ["Auth__Audience"] = TestTokens.Audience,
        ["Hubs__Limits__InvocationsPerSecondPerConnection"] = "100000",
        ["Hubs__Limits__MessagesPerSecondPerUserPerRoom"] = "10000",
        ["Hubs__Limits__ConnectsPerMinutePerAddress"] = "1000000",
        ["Hubs__Drain__PeriodSeconds"] = "2",
    });

    private async Task<ServerProcess> StartVictimAsync()
    {
        var victim = StartVictim();
        await victim.ListeningAsync();
        return victim;
    }

    private async Task<LoadOptions> StormOptionsAsync(ServerProcess victim) => new()
    {
        Scenario = "storm",
        Urls = [new Uri(await victim.ListeningAsync(), HubRoutes.Rooms), Nodes[0].HubUrl],
        SigningKey = TestTokens.SigningKey,
        Issuer = TestTokens.Issuer,
        Audience = TestTokens.Audience,
        Connections = Connections,
        RoomSize = RoomSize,
        VictimPid = victim.Pid,
        Duration = TimeSpan.FromSeconds(20),
        ServerPids = [Environment.ProcessId],
        Quiet = true,
    };

    private static async Task<LoadSummary> RunAsync(LoadOptions options)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(28));
        return await new LoadRunner(options, TextWriter.Null).RunAsync(timeout.Token);
    }
}
