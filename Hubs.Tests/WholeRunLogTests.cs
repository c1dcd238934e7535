using System.Buffers;
using System.Text.RegularExpressions;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests;

/// <summary>
/// T26 over a whole test run: test.sh runs the suite with <see cref="RunLedger.DirectoryVariable"/> set, then this
/// check on what the suite's servers logged. It is explicit because on its own, or in the middle of a run, it would
/// see only part of the logs.
/// </summary>
[Explicit("Checks the logs of a complete run; test.sh runs it after the suite.")]
[Category(Category)]
public sealed partial class WholeRunLogTests
{
    public const string Category = "WholeRun";

    [Test]
    public void T26_WholeTestRun_NoServerLogLineHoldsATokenTicketOrMessageText()
    {
        var directory = Environment.GetEnvironmentVariable(RunLedger.DirectoryVariable);
        Assert.That(directory, Is.Not.Null.And.Not.Empty, $"{RunLedger.DirectoryVariable} names the ledger of the run");
        var lines = File.ReadAllLines(Path.Combine(directory!, RunLedger.LinesFile));
        var secrets = File.ReadAllLines(Path.Combine(directory!, RunLedger.SecretsFile));
        var anySecret = SearchValues.Create(secrets, StringComparison.Ordinal);

        var leaks = lines.Where(line => line.AsSpan().IndexOfAny(anySecret) >= 0 || JwtShape().IsMatch(line)).Take(5).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Length.GreaterThan(1_000), "the logs of a whole run");
            Assert.That(secrets, Has.Length.GreaterThan(100), "the tokens, tickets and message texts of a whole run");
            Assert.That(leaks, Is.Empty, "log lines holding a token, ticket or message text");
        });
    }

    // Any JWT at all, whoever made it (the dev-token endpoint, a client): header and payload are base64url JSON.
    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")]
    private static partial Regex JwtShape();
}
