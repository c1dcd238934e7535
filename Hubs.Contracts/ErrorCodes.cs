namespace Hubs.Contracts;

/// <summary>
/// Codes that start every refusal message (<c>"&lt;code&gt;: &lt;text&gt;"</c>, optionally followed by <c>" (ref &lt;id&gt;)"</c>).
/// </summary>
public static class ErrorCodes
{
    /// <summary>No valid token, or the token has expired.</summary>
    public const string Unauthenticated = "unauthenticated";

    /// <summary>The caller can see the room but lacks the right for this action.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>The room does not exist, or the caller may not see it.</summary>
    public const string NotFound = "not_found";

    /// <summary>An argument is missing, malformed or out of range.</summary>
    public const string InvalidArgument = "invalid_argument";

    /// <summary>Too many requests or connections.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The room has reached its member limit.</summary>
    public const string RoomFull = "room_full";

    /// <summary>The request conflicts with the current state (for example the room id is taken).</summary>
    public const string Conflict = "conflict";

    /// <summary>A dependency is temporarily unavailable; retrying later may succeed.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>An unexpected server failure; the server log holds the details under the ref id.</summary>
    public const string Internal = "internal";

    /// <summary>Every code, in contract order.</summary>
    public static IReadOnlyList<string> All { get; } =
        [Unauthenticated, Forbidden, NotFound, InvalidArgument, RateLimited, RoomFull, Conflict, Unavailable, Internal];
}
