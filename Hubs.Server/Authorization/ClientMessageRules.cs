using Microsoft.AspNetCore.SignalR.Protocol;

namespace Hubs.Server.Authorization;

/// <summary>
/// Which hub messages a client of the room hub may send (T29). SignalR's dispatcher silently ignores the rest, and a
/// message type the protocol does not know leaves the connection deaf (dotnet/aspnetcore#69285); so anything a
/// legitimate client (the .NET and JavaScript SignalR clients, <c>HubsClient</c>) never sends here closes the connection
/// with <c>invalid_argument</c> instead.
/// </summary>
internal static class ClientMessageRules
{
    /// <summary>The reason for a frame whose message type the protocol does not know.</summary>
    public const string UnknownType = "unknown message type";

    /// <summary>Null when a client may send <paramref name="message"/>; otherwise why it is refused.</summary>
    /// <param name="message">A message as the protocol parsed it from a client.</param>
    /// <param name="statefulReconnect">Whether the connection negotiated stateful reconnect.</param>
    public static string? Refusal(HubMessage message, bool statefulReconnect) => message switch
    {
        // Calls, and calls whose arguments did not bind: SignalR and the hub filter answer each one.
        HubMethodInvocationMessage or InvocationBindingFailureMessage => null,

        // Keep-alives.
        PingMessage => null,

        // The .NET client's StopAsync and the JavaScript client's stop() send one before they close.
        CloseMessage => null,

        // A client cancels a stream it asked for; it may still do so just after a refusal ended it, and with no stream
        // open the dispatcher does nothing with it.
        CancelInvocationMessage => null,

        // Acks and sequence numbers belong to stateful reconnect; a client sends them only when it was negotiated.
        AckMessage or SequenceMessage when statefulReconnect => null,
        AckMessage or SequenceMessage => "stateful reconnect is not in use",

        // No room hub method takes a stream from the client, so there is never a stream for items to go to.
        StreamItemMessage or StreamBindingFailureMessage => "no stream is open",

        // The server never asks a client for a result (no client results) nor has a client stream to end.
        CompletionMessage => "no call awaits a completion",

        _ => UnknownType,
    };
}
