using System.ComponentModel.DataAnnotations;

namespace Hubs.Samples.Blazor;

/// <summary><c>Hubs</c> section: where the Hubs service is and how this sample gets a token.</summary>
public sealed class HubsSampleOptions
{
    public const string Section = "Hubs";

    /// <summary>The Hubs service, e.g. <c>http://localhost:5080</c>; the hub is at <c>/hubs/rooms</c> below it.</summary>
    [Required]
    public Uri? Url { get; set; }

    /// <summary>
    /// A fixed JWT for every user of this front end. When unset, the sample signs users in by name through the
    /// service's Development-only <c>POST /dev/token</c>; a real app gets the user's token from its own sign-in.
    /// </summary>
    public string? Token { get; set; }
}
