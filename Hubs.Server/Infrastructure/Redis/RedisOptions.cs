using System.ComponentModel.DataAnnotations;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary><c>Redis</c>: unset <see cref="Configuration"/> means one node on in-process state.</summary>
internal sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis configuration string.</summary>
    public string? Configuration { get; set; }

    /// <summary>Prefix of every key and of the backplane's channels, so that several deployments can share a server.</summary>
    [RegularExpression("^[A-Za-z0-9_.-]{1,32}$")]
    public string Prefix { get; set; } = "hubs";
}
