using Hubs.Contracts;

namespace Hubs.Server.Authorization;

/// <summary>
/// A refusal with a contract error code and a short text that is safe to show. The hub filter turns it into
/// <c>HubException("&lt;code&gt;: &lt;text&gt; (ref &lt;id&gt;)")</c>; every other exception becomes <c>internal</c>.
/// </summary>
internal sealed class HubsErrorException(string code, string safeText) : Exception($"{code}: {safeText}")
{
    public string Code { get; } = code;

    public string SafeText { get; } = safeText;

    /// <summary>One text for missing rooms and rooms the caller may not see, so the two are indistinguishable (T9).</summary>
    public static HubsErrorException RoomNotFound() => new(ErrorCodes.NotFound, "room not found");

    public static HubsErrorException Unauthenticated() => new(ErrorCodes.Unauthenticated, "authentication required");

    public static HubsErrorException Forbidden(string text) => new(ErrorCodes.Forbidden, text);

    public static HubsErrorException InvalidArgument(string text) => new(ErrorCodes.InvalidArgument, text);
}
