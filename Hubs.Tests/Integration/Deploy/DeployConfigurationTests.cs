using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text.RegularExpressions;
using Hubs.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Hubs.Tests.Integration.Deploy;

/// <summary>
/// Every environment variable that deploy/compose.yaml and deploy/kubernetes/hubs.yaml give a node, read from the YAML
/// (so that a new entry cannot slip by), names a setting of the server and goes into a real server process
/// (Production, real Redis): the options validate (the server refuses to start otherwise), every probe path of the
/// manifests and of the Dockerfile's health check answers, the health check command works, and the orchestrator's grace
/// period outlasts the drain. The Dockerfile and the manifests themselves cannot run here (no container runtime); see
/// docs/operations.md.
/// </summary>
[NonParallelizable]
public sealed partial class DeployConfigurationTests
{
    private const string SigningKey = "deploy-test-signing-key-0123456789abcdef-0123456789";

    [TestCase("compose.yaml", new[] { "/healthz/live" })]
    [TestCase("kubernetes/hubs.yaml", new[] { "/healthz/live", "/healthz/ready" })]
    public async Task EveryVariableOfTheManifest_Validates_AndTheProbesAnswer(string manifest, string[] probed)
    {
        var node = Manifest.Read(manifest);
        var variables = new Dictionary<string, string>(node.Variables, StringComparer.Ordinal);
        await using var redis = await RedisServer.StartAsync();
        variables["Redis__Configuration"] = redis.Configuration;

        await using var server = ServerProcess.Start("Production", variables);
        var address = await server.ListeningAsync();
        using var http = new HttpClient { BaseAddress = address };
        var probePaths = node.ProbePaths.Append(HealthCheckUrl().AbsolutePath).Distinct().ToList();
        var answers = new Dictionary<string, HttpStatusCode>();
        foreach (var path in probePaths)
        {
            answers[path] = (await http.GetAsync(path)).StatusCode;
        }

        var probe = await ProbeAsync(new Uri(address, HealthCheckUrl().AbsolutePath));
        var probeClosed = await ProbeAsync(new Uri($"http://127.0.0.1:{RedisServer.FreePort()}{HealthCheckUrl().AbsolutePath}"));

        Assert.Multiple(() =>
        {
            Assert.That(node.Variables.Keys, Is.SupersetOf(new[] { "Auth__SigningKey", "Redis__Configuration", "Hubs__Drain__PeriodSeconds", "Hubs__AllowedOrigins__0" }));
            foreach (var name in node.Variables.Keys)
            {
                Assert.That(SettingExists(name), Is.True, $"{name} in {manifest} names a setting the server reads");
            }

            Assert.That(probePaths, Is.SupersetOf(probed), "the manifest and the image probe the real paths");
            Assert.That(answers, Has.All.Property("Value").EqualTo(HttpStatusCode.OK), string.Join(", ", answers));
            Assert.That(node.GraceSeconds, Is.GreaterThan(int.Parse(node.Variables["Hubs__Drain__PeriodSeconds"], CultureInfo.InvariantCulture)),
                "the orchestrator waits longer than the drain before it kills the node");
            Assert.That(probe, Is.Zero, "the image's HEALTHCHECK command succeeds against a live node");
            Assert.That(probeClosed, Is.EqualTo(1), "and fails when nothing answers");
        });
    }

    [Test]
    public void ASettingNobodyReads_IsCaught()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SettingExists("Hubs__Limits__MaxConnectionsPerNode"), Is.True);
            Assert.That(SettingExists("Hubs__AllowedOrigins__0"), Is.True);
            Assert.That(SettingExists("OTEL_SERVICE_NAME"), Is.True);
            Assert.That(SettingExists("Hubs__Limits__MaxConectionsPerNode"), Is.False, "a misspelt limit");
            Assert.That(SettingExists("Hubs__Nothing__Here"), Is.False);
            Assert.That(SettingExists("Auth__SigningKeyFile"), Is.False);
            Assert.That(SettingExists("SOME_VARIABLE"), Is.False);
        });
    }

    [Test]
    public async Task AnInvalidValue_StopsTheServerAtStart()
    {
        var variables = new Dictionary<string, string>(Manifest.Read("compose.yaml").Variables, StringComparer.Ordinal);
        variables.Remove("Redis__Configuration");
        variables["Hubs__Drain__PeriodSeconds"] = "-1";

        await using var server = ServerProcess.Start("Production", variables);

        Assert.That(await server.ExitCodeAsync(), Is.Not.Zero);
        Assert.That(server.Output, Does.Contain("PeriodSeconds"));
    }

    /// <summary>
    /// Whether an environment variable names a setting: a property of the options class bound to its section (the
    /// longest <c>Section</c> that prefixes it), or an OpenTelemetry SDK variable.
    /// </summary>
    private static bool SettingExists(string variable)
    {
        if (variable.StartsWith("OTEL_", StringComparison.Ordinal))
        {
            return true;
        }

        var key = variable.Replace("__", ":", StringComparison.Ordinal);
        var sections = typeof(Hubs.Server.HubsServerExtensions).Assembly.GetTypes()
            .Select(type => (Type: type, Section: type.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(option => option.Section is not null && key.StartsWith(option.Section + ":", StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(option => option.Section!.Length)
            .ToList();
        if (sections.Count == 0)
        {
            return false;
        }

        var (type, section) = sections[0];
        var path = key[(section!.Length + 1)..].Split(':');
        var property = type.GetProperty(path[0], BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        return property is not null && (path.Length == 1
            || (path.Length == 2 && property.PropertyType != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(property.PropertyType)
                && int.TryParse(path[1], NumberStyles.None, CultureInfo.InvariantCulture, out _)));
    }

    /// <summary>The URL the Dockerfile's HEALTHCHECK probes.</summary>
    private static Uri HealthCheckUrl()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Repository.Root, "deploy", "Dockerfile"));
        return new Uri(HealthCheck().Match(dockerfile) is { Success: true } match
            ? match.Groups[1].Value
            : throw new AssertionException("the Dockerfile has no HEALTHCHECK through --health-probe"));
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

    [GeneratedRegex(@"HEALTHCHECK[^\[]*\[[^\]]*""--health-probe"",\s*""([^""]+)""")]
    private static partial Regex HealthCheck();

    /// <summary>What a manifest gives a Hubs node: its environment, its probe paths and the grace period before a kill.</summary>
    private sealed record Manifest(IReadOnlyDictionary<string, string> Variables, IReadOnlyList<string> ProbePaths, int GraceSeconds)
    {
        public static Manifest Read(string name)
        {
            var yaml = new YamlStream();
            using (var reader = new StreamReader(Path.Combine(Repository.Root, "deploy", name)))
            {
                yaml.Load(reader);
            }

            var roots = yaml.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
            return roots.Any(r => r.Children.ContainsKey("services")) ? Compose(roots.Single()) : Kubernetes(roots);
        }

        /// <summary>Every service of the image <c>hubs-server</c>: one environment for all (they share an anchor).</summary>
        private static Manifest Compose(YamlMappingNode root)
        {
            var nodes = ((YamlMappingNode)root["services"]).Children.Values.Cast<YamlMappingNode>()
                .Where(service => Scalar(service, "image") == "hubs-server").ToList();
            Assert.That(nodes, Has.Count.EqualTo(3), "three nodes");
            var variables = nodes.Select(service => service.Children.TryGetValue("environment", out var environment) ? environment switch
            {
                YamlMappingNode map => map.Children.ToDictionary(e => ((YamlScalarNode)e.Key).Value!, e => Value(((YamlScalarNode)e.Key).Value!, ((YamlScalarNode)e.Value).Value!)),
                YamlSequenceNode list => list.Children.Cast<YamlScalarNode>().Select(e => e.Value!.Split('=', 2))
                    .ToDictionary(pair => pair[0], pair => Value(pair[0], pair.Length > 1 ? pair[1] : string.Empty)),
                _ => throw new AssertionException("environment is neither a mapping nor a list"),
            } : []).ToList();
            Assert.That(variables.Skip(1), Has.All.EquivalentTo(variables[0]), "every node has the same environment");
            var grace = nodes.Select(service => Scalar(service, "stop_grace_period")).Distinct().Single()
                ?? throw new AssertionException("the nodes need a stop_grace_period longer than the drain (compose's default is 10 s)");
            return new Manifest(variables[0], [], Seconds(grace));
        }

        /// <summary>The containers of every Deployment.</summary>
        private static Manifest Kubernetes(IReadOnlyList<YamlMappingNode> documents)
        {
            var deployment = documents.Single(d => Scalar(d, "kind") == "Deployment");
            var pod = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)deployment["spec"])["template"])["spec"];
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            var probes = new List<string>();
            foreach (var container in ((YamlSequenceNode)pod["containers"]).Children.Cast<YamlMappingNode>())
            {
                Assert.That(container.Children.ContainsKey("envFrom"), Is.False, "envFrom would bring variables this test cannot see");
                foreach (var entry in container.Children.TryGetValue("env", out var env) ? ((YamlSequenceNode)env).Children.Cast<YamlMappingNode>() : [])
                {
                    var name = Scalar(entry, "name")!;
                    variables[name] = Scalar(entry, "value") is { } value
                        ? value
                        : name == "Auth__SigningKey" && entry.Children.ContainsKey("valueFrom") ? SigningKey
                        : throw new AssertionException($"{name} has no value this test can stand in for");
                }

                foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
                {
                    if (container.Children.TryGetValue(probe, out var settings) && ((YamlMappingNode)settings).Children.TryGetValue("httpGet", out var httpGet))
                    {
                        probes.Add(Scalar((YamlMappingNode)httpGet, "path")!);
                    }
                }
            }

            return new Manifest(variables, probes, int.Parse(Scalar(pod, "terminationGracePeriodSeconds") ?? "30", CultureInfo.InvariantCulture));
        }

        /// <summary>The signing key stands in for the secret or the variable compose takes it from.</summary>
        private static string Value(string name, string value) =>
            value.Contains("${", StringComparison.Ordinal)
                ? name == "Auth__SigningKey" ? SigningKey : throw new AssertionException($"{name} comes from the host's environment, which this test cannot stand in for")
                : value;

        private static string? Scalar(YamlMappingNode node, string key) =>
            node.Children.TryGetValue(key, out var value) ? (value as YamlScalarNode)?.Value : null;

        private static int Seconds(string duration) => duration.EndsWith('s')
            ? int.Parse(duration[..^1], CultureInfo.InvariantCulture)
            : throw new AssertionException($"stop_grace_period {duration}: write it in seconds");
    }
}
