using System.ComponentModel.DataAnnotations;

namespace Hubs.Server.Options;

/// <summary><c>Hubs:Limits</c>: caps and rates from the contract.</summary>
internal sealed class LimitsOptions
{
    public const string Section = "Hubs:Limits";

    [Range(1, 1000)]
    public int MaxConnectionsPerUser { get; set; } = 10;

    [Range(1, 1_000_000)]
    public int MaxConnectionsPerNode { get; set; } = 20_000;

    [Range(1, 10_000)]
    public int MaxRoomsPerConnection { get; set; } = 100;

    [Range(1024, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 32_768;

    [Range(1, 100_000)]
    public int MaxTextLength { get; set; } = 4000;

    [Range(1, 1_000_000)]
    public int ConnectsPerMinutePerAddress { get; set; } = 120;

    [Range(1, 100_000)]
    public int InvocationsPerSecondPerConnection { get; set; } = 20;

    [Range(1, 10_000)]
    public int MessagesPerSecondPerUserPerRoom { get; set; } = 5;

    /// <summary>
    /// Calls of one connection in progress at once. <c>SendMessage</c> calls following one another run side by side,
    /// stored and delivered in the order they arrived; every other call runs alone after the ones before it, and a send
    /// after it waits for it: the outcome is that of one call at a time.
    /// </summary>
    [Range(1, 64)]
    public int ParallelInvocationsPerConnection { get; set; } = 8;

    /// <summary>
    /// Outgoing bytes a connection may have waiting before it counts as behind; a connection that is behind may hold
    /// this much again before it is dropped (T21).
    /// </summary>
    [Range(16 * 1024, 64 * 1024 * 1024)]
    public int OutboundBufferBytes { get; set; } = 1024 * 1024;

    /// <summary>Longest a connection may stay behind before it is dropped (T21).</summary>
    [Range(1, 300)]
    public int SlowConsumerTimeoutSeconds { get; set; } = 10;

    /// <summary>Member limit of a room created without <c>maxMembers</c>.</summary>
    [Range(1, 100_000)]
    public int DefaultMaxMembers { get; set; } = 1000;

    /// <summary>Largest <c>maxMembers</c> a room may ask for.</summary>
    [Range(1, 1_000_000)]
    public int MaxMembersPerRoom { get; set; } = 100_000;
}

/// <summary><c>Hubs:Presence</c>.</summary>
internal sealed class PresenceOptions
{
    public const string Section = "Hubs:Presence";

    [Range(2, 3600)]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Most members a <c>JoinRoom</c> result carries, online ones first (contract version 2).</summary>
    [Range(1, 1000)]
    public int JoinMembersLimit { get; set; } = 100;

    /// <summary>Distinct members at which a room switches to presence digests; it switches back below half of it.</summary>
    [Range(2, 1_000_000)]
    public int DigestThreshold { get; set; } = 500;

    /// <summary>At most one <c>PresenceDigest</c> per room per this interval.</summary>
    [Range(50, 60_000)]
    public int DigestIntervalMilliseconds { get; set; } = 1000;

    /// <summary>A room in digest mode at <paramref name="members"/> stays there; one in events mode switches at the threshold.</summary>
    public bool IsDigest(bool digestNow, int members) => digestNow ? members * 2 >= DigestThreshold : members >= DigestThreshold;
}

/// <summary><c>Hubs:History</c>.</summary>
internal sealed class HistoryOptions
{
    public const string Section = "Hubs:History";

    [Range(1, 1_000_000)]
    public int MaxMessagesPerRoom { get; set; } = 1000;
}

/// <summary><c>Hubs</c>: settings not in a sub-section.</summary>
internal sealed class HubsOptions
{
    public const string Section = "Hubs";

    /// <summary>Browser origins allowed to connect; unset: any in Development, none otherwise.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Addresses of reverse proxies whose <c>X-Forwarded-For</c> is believed. Unset: the client address is the
    /// socket's, and forwarded headers are ignored.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];
}

/// <summary><c>Hubs:Drain</c>.</summary>
internal sealed class DrainOptions
{
    public const string Section = "Hubs:Drain";

    /// <summary>How long a node takes, after SIGTERM, to move its connections away and exit.</summary>
    [Range(1, 300)]
    public int PeriodSeconds { get; set; } = 10;
}
