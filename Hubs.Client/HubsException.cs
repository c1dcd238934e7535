using Hubs.Contracts;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Client;

/// <summary>A call the server refused, or that could not reach it. <see cref="Code"/> is one of <see cref="ErrorCodes"/>.</summary>
public sealed class HubsException : Exception
{
    private const string HubExceptionMarker = "HubException: ";
    private const string RefPrefix = " (ref ";

    /// <summary>Creates an exception with a code and a message.</summary>
    /// <param name="code">One of <see cref="ErrorCodes"/>.</param>
    /// <param name="message">The text.</param>
    /// <param name="refId">The server's reference id, if any.</param>
    /// <param name="innerException">The cause.</param>
    public HubsException(string code, string message, string? refId = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        RefId = refId;
    }

    /// <summary>The error code: one of <see cref="ErrorCodes"/>.</summary>
    public string Code { get; }

    /// <summary>The reference id that matches the server's log line, when the server gave one.</summary>
    public string? RefId { get; }

    /// <summary>Reads a server refusal of the form <c>"&lt;code&gt;: &lt;text&gt; (ref &lt;id&gt;)"</c>.</summary>
    /// <param name="error">The SignalR error.</param>
    public static HubsException FromHubException(HubException error)
    {
        var text = error.Message;
        var marker = text.IndexOf(HubExceptionMarker, StringComparison.Ordinal);
        if (marker >= 0)
        {
            text = text[(marker + HubExceptionMarker.Length)..];
        }

        var colon = text.IndexOf(": ", StringComparison.Ordinal);
        var code = colon > 0 ? text[..colon] : string.Empty;
        if (!ErrorCodes.All.Contains(code))
        {
            return new HubsException(ErrorCodes.Internal, error.Message, innerException: error);
        }

        string? refId = null;
        var refStart = text.LastIndexOf(RefPrefix, StringComparison.Ordinal);
        if (refStart > 0 && text.EndsWith(')'))
        {
            refId = text[(refStart + RefPrefix.Length)..^1];
        }

        return new HubsException(code, text, refId, error);
    }
}
