using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using Hubs.Contracts;
using Hubs.Server.Lifecycle;
using Hubs.Server.RateLimiting;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Abstractions;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Hubs.Server.Authorization;

/// <summary>
/// A hub protocol (JSON, or MessagePack for clients that choose it) with invocation errors in the contract's shape. SignalR prefixes a hub error with
/// "An unexpected error occurred invoking 'X' on the server. HubException: " and answers arguments it cannot bind
/// (wrong types, unknown enum values, wrong counts, unknown methods) with a text of its own; clients of the contract
/// must see exactly "&lt;code&gt;: &lt;text&gt;". Only completion errors, and the close message of a connection it refused a
/// frame of, are touched; other close messages keep SignalR's form.
/// </summary>
/// <remarks>
/// It is also where invocations that never reach the hub filter (unknown methods, arguments that do not bind,
/// streaming calls) spend the connection's invocation budget (T13): past it they are answered <c>rate_limited</c>.
/// And it closes a connection that sends a frame of an unknown message type, or one no client of this hub sends
/// (<see cref="ClientMessageRules"/>), with <c>invalid_argument</c> (T29).
/// </remarks>
internal sealed partial class ContractErrorProtocol(
    IHubProtocol inner,
    InvocationRateLimiter invocations,
    NodeDrain drain,
    HubsMetrics metrics,
    ILogger<ContractErrorProtocol> logger) : IHubProtocol
{
    private const string HubExceptionMarker = " on the server. HubException: ";
    private const string BindingFailurePrefix = "Failed to invoke '";
    private const string UnknownMethodSuffix = "HubException: Method does not exist.";
    private const string RateLimitedSuffix = "HubException: " + RateLimitedError;
    private const string RateLimitedError = ErrorCodes.RateLimited + ": " + InvocationRateLimiter.RefusalText;
    private const string CloseRefusal = "hubs.protocol.close_refusal";
    private const string UnusableFrame = "unusable_frame";

    private readonly IHubProtocol _inner = inner;

    public string Name => _inner.Name;

    public int Version => _inner.Version;

    public TransferFormat TransferFormat => _inner.TransferFormat;

    public bool IsVersionSupported(int version) => _inner.IsVersionSupported(version);

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        var unread = input.Length;
        if (!_inner.TryParseMessage(ref input, binder, out message))
        {
            // False with input consumed: a whole frame of a type the inner protocol ignores "for future protocol
            // changes". Left to SignalR, a connection with a maximum message size parses it again forever (deaf).
            if (input.Length < unread)
            {
                Refuse(ClientMessageRules.UnknownType);
            }

            return false;
        }

        if (ClientMessageRules.Refusal(message, StatefulReconnect()) is { } reason)
        {
            Refuse(reason);
        }

        // Calls that expect an answer are in flight until it is written (a drain waits for them before closing).
        if (message is HubInvocationMessage { InvocationId: not null } and (InvocationMessage or InvocationBindingFailureMessage or StreamInvocationMessage)
            && CurrentConnection.Value is { } caller)
        {
            drain.InvocationStarted(caller.ConnectionId);
        }

        // The hub filter charges the calls it sees; these it never sees. Refused, they stay binding failures that
        // SignalR answers, with the rate_limited text instead.
        var (invocationId, target) = message switch
        {
            InvocationBindingFailureMessage failure => (failure.InvocationId, failure.Target),
            StreamInvocationMessage stream => (stream.InvocationId, stream.Target),
            _ => (null, null),
        };
        if (target is not null
            && CurrentConnection.Value is { } connection
            && !invocations.TryAdmit(connection.ConnectionId, connection.Items, connection.Abort))
        {
            message = new InvocationBindingFailureMessage(invocationId, target, ExceptionDispatchInfo.Capture(new HubException(RateLimitedError)));
        }

        return true;
    }

    /// <summary>
    /// Closes the connection for a frame a client of this hub never sends (T29): SignalR answers an exception thrown
    /// while parsing with a close message, which <see cref="Normalize"/> turns into this refusal. Charged to the
    /// connection's invocation budget like the calls SignalR refuses itself.
    /// </summary>
    [DoesNotReturn]
    private void Refuse(string reason)
    {
        var refId = RefIds.New();
        var refusal = $"{ErrorCodes.InvalidArgument}: {reason} (ref {refId})";
        var connection = CurrentConnection.Value;
        Log.FrameRefused(logger, connection?.ConnectionId, refId, reason);
        metrics.Denied(UnusableFrame);
        if (connection is not null)
        {
            connection.Items[CloseRefusal] = refusal;
            invocations.TryAdmit(connection.ConnectionId, connection.Items, connection.Abort);
        }

        throw new InvalidDataException(refusal);
    }

    // The transport sets the (preview) feature only on a connection that negotiated stateful reconnect; only its presence is read.
#pragma warning disable CA2252
    private static bool StatefulReconnect() =>
        CurrentConnection.Value?.Features.Get<IStatefulReconnectFeature>() is not null;
#pragma warning restore CA2252

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output)
    {
        _inner.WriteMessage(Normalize(message), output);
        Answered(message);
    }

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message)
    {
        var bytes = _inner.GetMessageBytes(Normalize(message));
        Answered(message);
        return bytes;
    }

    /// <summary>A completion is written only to the connection that made the call, inside that connection's flow.</summary>
    private void Answered(HubMessage message)
    {
        if (message is CompletionMessage && CurrentConnection.Value is { } caller)
        {
            drain.InvocationAnswered(caller.ConnectionId);
        }
    }

    private HubMessage Normalize(HubMessage message)
    {
        // SignalR's own text for a close after a parse failure is "Connection closed with an error."; a refused frame's
        // close says why, in the contract's shape, and does not invite a reconnect.
        if (message is CloseMessage { Error: not null }
            && CurrentConnection.Value?.Items.TryGetValue(CloseRefusal, out var refusal) == true)
        {
            return new CloseMessage((string?)refusal, allowReconnect: false);
        }

        if (message is not CompletionMessage { Error: { } error } completion)
        {
            return message;
        }

        var marker = error.IndexOf(HubExceptionMarker, StringComparison.Ordinal);
        string? normalized = null;
        if (error.StartsWith(BindingFailurePrefix, StringComparison.Ordinal))
        {
            // SignalR logged the binding failure itself (DefaultHubDispatcher, Debug); this ties it to what the client sees.
            var refId = RefIds.New();
            if (error.EndsWith(RateLimitedSuffix, StringComparison.Ordinal))
            {
                Log.UnboundRateLimited(logger, refId);
                metrics.Invocation("unbound", ErrorCodes.RateLimited);
                metrics.Denied(ErrorCodes.RateLimited);
                normalized = $"{RateLimitedError} (ref {refId})";
            }
            else
            {
                var unknown = error.EndsWith(UnknownMethodSuffix, StringComparison.Ordinal);
                Log.ArgumentsNotBound(logger, refId, unknown);
                metrics.Invocation(unknown ? "unknown" : "unbound", ErrorCodes.InvalidArgument);
                normalized = unknown
                    ? $"{ErrorCodes.InvalidArgument}: unknown method (ref {refId})"
                    : $"{ErrorCodes.InvalidArgument}: arguments do not match the method's parameters (ref {refId})";
            }
        }
        else if (marker >= 0)
        {
            normalized = error[(marker + HubExceptionMarker.Length)..];
        }

        return normalized is null ? message : CompletionMessage.WithError(completion.InvocationId!, normalized);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Refused an invocation with invalid_argument (ref {RefId}): arguments could not be bound; unknown method: {UnknownMethod}")]
        public static partial void ArgumentsNotBound(ILogger logger, string refId, bool unknownMethod);

        [LoggerMessage(2, LogLevel.Information, "Refused an invocation with rate_limited (ref {RefId}): the connection's invocation budget is spent")]
        public static partial void UnboundRateLimited(ILogger logger, string refId);

        [LoggerMessage(3, LogLevel.Warning, "Closed connection {ConnectionId} with invalid_argument (ref {RefId}): {Reason}")]
        public static partial void FrameRefused(ILogger logger, string? connectionId, string refId, string reason);
    }
}
