namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// How long this node's own view of Redis has been unbroken: from its first heartbeat written after the last break
/// (a lost connection, a failed heartbeat). Another node's missing heartbeat is evidence of its death only once this
/// has lasted longer than a heartbeat's lifetime plus a period for that node to reconnect: a missing heartbeat seen
/// across an outage of one's own Redis is what every node looks like after it (T27).
/// </summary>
internal sealed class RedisContinuity(TimeProvider time)
{
    private const long Broken = long.MinValue;

    private long _since = Broken;

    /// <summary>This node's view of Redis broke: whatever it sees counts from the next confirmation on.</summary>
    public void Break() => Interlocked.Exchange(ref _since, Broken);

    /// <summary>A heartbeat was written: starts the unbroken span if it was broken.</summary>
    public void Confirm() => Interlocked.CompareExchange(ref _since, time.GetTimestamp(), Broken);

    /// <summary>Whether the view has been unbroken for at least <paramref name="span"/>.</summary>
    public bool UnbrokenFor(TimeSpan span)
    {
        var since = Interlocked.Read(ref _since);
        return since != Broken && time.GetElapsedTime(since) >= span;
    }
}
