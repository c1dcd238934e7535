using System.ComponentModel.DataAnnotations;

namespace Hubs.Server.Admin;

/// <summary><c>Hubs:Admin</c>: who may call the admin API and how often.</summary>
internal sealed class AdminOptions
{
    public const string Section = "Hubs:Admin";

    /// <summary>The role (JWT <c>role</c> claim) the admin API requires.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9_.:-]{1,64}$")]
    public string Role { get; set; } = "hubs-admin";

    /// <summary>Admin API requests per minute per caller (token bucket; the burst is a tenth of it, at least 10).</summary>
    [Range(1, 1_000_000)]
    public int RequestsPerMinute { get; set; } = 600;

    /// <summary>Longest ban <c>POST /api/users/{userId}/disconnect</c> may ask for, in seconds.</summary>
    [Range(1, 365 * 24 * 3600)]
    public int MaxBanSeconds { get; set; } = 30 * 24 * 3600;
}
