using Hubs.Server.Admin;
using Hubs.Server.Audit;
using Hubs.Server.Options;
using Hubs.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hubs.Tests.Unit.Options;

public sealed class OptionsValidationTests
{
    [Test]
    public void Defaults_MatchTheContract()
    {
        var limits = new LimitsOptions();

        Assert.Multiple(() =>
        {
            Assert.That(limits.MaxConnectionsPerUser, Is.EqualTo(10));
            Assert.That(limits.MaxConnectionsPerNode, Is.EqualTo(20_000));
            Assert.That(limits.MaxRoomsPerConnection, Is.EqualTo(100));
            Assert.That(limits.MaxMessageBytes, Is.EqualTo(32_768));
            Assert.That(limits.MaxTextLength, Is.EqualTo(4000));
            Assert.That(limits.ConnectsPerMinutePerAddress, Is.EqualTo(120));
            Assert.That(limits.InvocationsPerSecondPerConnection, Is.EqualTo(20));
            Assert.That(limits.MessagesPerSecondPerUserPerRoom, Is.EqualTo(5));
            Assert.That(limits.OutboundBufferBytes, Is.EqualTo(1024 * 1024));
            Assert.That(limits.SlowConsumerTimeoutSeconds, Is.EqualTo(10));
            Assert.That(new PresenceOptions().TimeoutSeconds, Is.EqualTo(30));
            Assert.That(new HistoryOptions().MaxMessagesPerRoom, Is.EqualTo(1000));
        });
    }

    [TestCase("Hubs:Limits:MaxConnectionsPerUser", "0")]
    [TestCase("Hubs:Limits:MaxMessageBytes", "10")]
    [TestCase("Hubs:Limits:OutboundBufferBytes", "1000")]
    [TestCase("Hubs:Limits:SlowConsumerTimeoutSeconds", "0")]
    [TestCase("Hubs:History:MaxMessagesPerRoom", "-5")]
    [TestCase("Hubs:Presence:TimeoutSeconds", "0")]
    public void OutOfRangeValue_FailsNamingTheFullKey(string key, string value)
    {
        using var services = Build(key, value);

        var error = Assert.Throws<OptionsValidationException>(() => Resolve(services, key))!;

        Assert.That(error.Message, Does.Contain(key));
    }

    /// <summary>Every limit is documented in README.md, in environment form and with its default.</summary>
    [Test]
    public void EveryLimit_DocumentedInReadmeWithItsDefault()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        var options = new (string Section, object Defaults)[]
        {
            (LimitsOptions.Section, new LimitsOptions()),
            (PresenceOptions.Section, new PresenceOptions()),
            (HistoryOptions.Section, new HistoryOptions()),
            (DrainOptions.Section, new DrainOptions()),
            (AdminOptions.Section, new AdminOptions()),
            (AuditOptions.Section, new AuditOptions()),
        };
        var rows = options.SelectMany(o => o.Defaults.GetType().GetProperties().Select(p =>
            (Key: $"{o.Section.Replace(":", "__", StringComparison.Ordinal)}__{p.Name}", Default: Convert.ToString(p.GetValue(o.Defaults), System.Globalization.CultureInfo.InvariantCulture))));

        Assert.Multiple(() =>
        {
            foreach (var (key, value) in rows)
            {
                var line = readme.Split('\n').FirstOrDefault(l => l.StartsWith($"| `{key}`", StringComparison.Ordinal));
                Assert.That(line, Is.Not.Null, $"README documents {key}");
                Assert.That(line, Does.Contain($"| {value} |"), $"README gives {key}'s default");
            }
        });
    }


    private static ServiceProvider Build(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section);
        services.AddValidatedOptions<HistoryOptions>(HistoryOptions.Section);
        services.AddValidatedOptions<PresenceOptions>(PresenceOptions.Section);
        return services.BuildServiceProvider();
    }

    private static object Resolve(IServiceProvider services, string key) => key.Split(':')[1] switch
    {
        "Limits" => services.GetRequiredService<IOptions<LimitsOptions>>().Value,
        "History" => services.GetRequiredService<IOptions<HistoryOptions>>().Value,
        _ => services.GetRequiredService<IOptions<PresenceOptions>>().Value,
    };
}
