using Hubs.Server.Infrastructure.Redis;
using Microsoft.Extensions.Time.Testing;

namespace Hubs.Tests.Unit.Infrastructure;

/// <summary>T27: only an unbroken view of Redis counts as evidence that another node is dead.</summary>
public sealed class RedisContinuityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public void UnbrokenFor_NeverConfirmed_False()
    {
        var time = new FakeTimeProvider();
        var continuity = new RedisContinuity(time);
        time.Advance(TimeSpan.FromHours(1));

        Assert.That(continuity.UnbrokenFor(Timeout), Is.False, "a node that never wrote a heartbeat has seen nothing");
    }

    [Test]
    public void UnbrokenFor_ConfirmedLongEnoughAgo_TrueOnlyAfterTheWholeSpan()
    {
        var time = new FakeTimeProvider();
        var continuity = new RedisContinuity(time);
        continuity.Confirm();
        time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        var before = continuity.UnbrokenFor(Timeout);

        // Later confirmations do not move the start.
        continuity.Confirm();
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.That((before, continuity.UnbrokenFor(Timeout)), Is.EqualTo((false, true)));
    }

    [Test]
    public void UnbrokenFor_BrokenThenConfirmed_CountsFromTheConfirmationAfterTheBreak()
    {
        var time = new FakeTimeProvider();
        var continuity = new RedisContinuity(time);
        continuity.Confirm();
        time.Advance(Timeout * 2);
        continuity.Break();
        var broken = continuity.UnbrokenFor(Timeout);
        time.Advance(TimeSpan.FromSeconds(10));
        continuity.Confirm();
        time.Advance(Timeout - TimeSpan.FromSeconds(1));
        var soon = continuity.UnbrokenFor(Timeout);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.That((broken, soon, continuity.UnbrokenFor(Timeout)), Is.EqualTo((false, false, true)),
            "the outage's own time and the time before it count for nothing");
    }
}
