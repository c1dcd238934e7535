using Hubs.Client;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests.Unit.Client;

/// <summary>When the client replaces a connection: read from the token it connected with.</summary>
public sealed class NodeConnectionTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private static readonly TimeSpan Lead = TimeSpan.FromSeconds(60);

    [Test]
    public void HourLongToken_ReplacedTheLeadBeforeExpiry()
    {
        var node = NewNode();

        node.TokenIssued(TestTokens.For("u", lifetime: TimeSpan.FromHours(1)), Now, Lead);

        Assert.That(node.TokenExpires!.Value - node.RefreshAt!.Value, Is.EqualTo(Lead).Within(TimeSpan.FromSeconds(1)));
    }

    [Test]
    public void ShortToken_ReplacedWithAThirdOfItsLifeLeft()
    {
        var node = NewNode();

        node.TokenIssued(TestTokens.For("u", lifetime: TimeSpan.FromSeconds(30)), Now, Lead);

        var left = node.TokenExpires!.Value - node.RefreshAt!.Value;
        Assert.That(left, Is.EqualTo(TimeSpan.FromSeconds(10)).Within(TimeSpan.FromSeconds(1.5)));
    }

    [Test]
    public void OnlyTheFirstTokenCounts_LongPollingAsksAgainWithoutExtendingTheConnection()
    {
        var node = NewNode();
        node.TokenIssued(TestTokens.For("u", lifetime: TimeSpan.FromSeconds(30)), Now, Lead);
        var first = node.RefreshAt;

        node.TokenIssued(TestTokens.For("u", lifetime: TimeSpan.FromHours(1)), Now, Lead);

        Assert.That(node.RefreshAt, Is.EqualTo(first));
    }

    [TestCase("opaque-ticket-value")]
    [TestCase("a.b.c")]
    [TestCase("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.")]
    [TestCase("eyJhbGciOiJub25lIn0.WzEsMl0.")]
    public void NotAJwtWithExp_NothingScheduled(string token)
    {
        var node = NewNode();

        node.TokenIssued(token, Now, Lead);

        Assert.Multiple(() =>
        {
            Assert.That(node.TokenExpires, Is.Null);
            Assert.That(node.RefreshAt, Is.Null);
        });
    }

    [Test]
    public void ExpiredToken_NothingScheduled()
    {
        var node = NewNode();

        node.TokenIssued(TestTokens.For("u", lifetime: TimeSpan.FromSeconds(-5)), Now, Lead);

        Assert.That(node.RefreshAt, Is.Null);
    }

    [Test]
    public async Task WhenIdle_WaitsForRunningCallsOnly()
    {
        var node = NewNode();
        var call = node.BeginCall();
        var idle = node.WhenIdleAsync(TimeSpan.FromSeconds(10));

        Assert.That(idle.IsCompleted, Is.False);
        call.Dispose();
        await idle.Within();
        await node.WhenIdleAsync(TimeSpan.FromSeconds(10)).Within(TimeSpan.FromMilliseconds(100));
    }

    private static NodeConnection NewNode() => new(0, new Uri("http://127.0.0.1:1/hubs/rooms"));
}
