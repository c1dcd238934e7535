using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests.Integration.Deploy;

/// <summary>
/// Every environment variable that deploy/compose.yaml and deploy/kubernetes/hubs.yaml give a node goes into a real
/// server process (Production, real Redis): the options validate (the server refuses to start otherwise), the probe
/// paths of the manifests answer, and the image's health check command works. The Dockerfile and the manifests
/// themselves cannot run here (no container runtime); see docs/operations.md.
/// </summary>
[NonParallelizable]
public sealed partial class DeployConfigurationTests
{
    private const string SigningKey = "deploy-test-signing-key-0123456789abcdef-0123456789";

    [TestCase("compose.yaml")]
    [TestCase("kubernetes/hubs.yaml")]
    public async Task EveryVariableOfTheManifest_Validates_AndTheProbesAnswer(string manifest)
    {
        var variables = Variables(File.ReadAllText(Path.Combine(Repository.Root, "deploy", manifest)));
        await using var redis = await RedisServer.StartAsync();
        variables["Redis__Configuration"] = redis.Configuration;

        await using var server = ServerProcess.Start("Production", variables);
        var address = await server.ListeningAsync();
        using var http = new HttpClient { BaseAddress = address };
        var live = await http.GetAsync("/healthz/live");
        var ready = await http.GetAsync("/healthz/ready");
        var probe = await ProbeAsync(new Uri(address, "/healthz/live"));
        var probeClosed = await ProbeAsync(new Uri($"http://127.0.0.1:{RedisServer.FreePort()}/healthz/live"));

        Assert.Multiple(() =>
        {
            Assert.That(variables.Keys, Is.SupersetOf(new[] { "Auth__SigningKey", "Redis__Configuration", "Hubs__Drain__PeriodSeconds", "Hubs__AllowedOrigins__0" }));
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(probe, Is.Zero, "the image's HEALTHCHECK command succeeds against a live node");
            Assert.That(probeClosed, Is.EqualTo(1), "and fails when nothing answers");
        });
    }

    [Test]
    public async Task AnInvalidValue_StopsTheServerAtStart()
    {
        var variables = Variables(File.ReadAllText(Path.Combine(Repository.Root, "deploy", "compose.yaml")));
        variables.Remove("Redis__Configuration");
        variables["Hubs__Drain__PeriodSeconds"] = "-1";

        await using var server = ServerProcess.Start("Production", variables);

        Assert.That(await server.ExitCodeAsync(), Is.Not.Zero);
        Assert.That(server.Output, Does.Contain("PeriodSeconds"));
    }

    /// <summary>The node's environment as the manifest writes it; the signing key stands in for the secret.</summary>
    private static Dictionary<string, string> Variables(string manifest)
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match match in ComposeVariable().Matches(manifest))
        {
            variables[match.Groups[1].Value] = match.Groups[2].Value.Trim().Trim('"');
        }

        foreach (Match match in KubernetesVariable().Matches(manifest))
        {
            variables[match.Groups[1].Value] = match.Groups[2].Value.Trim().Trim('"');
        }

        foreach (Match match in KubernetesSecret().Matches(manifest))
        {
            variables[match.Groups[1].Value] = SigningKey;
        }

        if (variables.TryGetValue("Auth__SigningKey", out var key) && key.StartsWith("${", StringComparison.Ordinal))
        {
            variables["Auth__SigningKey"] = SigningKey;
        }

        return variables;
    }

    private static async Task<int> ProbeAsync(Uri url)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Hubs.Server.dll"));
        info.ArgumentList.Add("--health-probe");
        info.ArgumentList.Add(url.ToString());
        using var process = Process.Start(info)!;
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        return process.ExitCode;
    }

    [GeneratedRegex(@"^\s+((?:Auth|Redis|Hubs|OTEL)[A-Za-z0-9_]*): (.+)$", RegexOptions.Multiline)]
    private static partial Regex ComposeVariable();

    [GeneratedRegex(@"- \{ name: ([A-Za-z0-9_]+), value: ([^}]+) \}")]
    private static partial Regex KubernetesVariable();

    [GeneratedRegex(@"- name: ([A-Za-z0-9_]+)\s+valueFrom:")]
    private static partial Regex KubernetesSecret();
}
