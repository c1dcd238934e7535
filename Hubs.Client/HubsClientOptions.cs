using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Hubs.Client;

/// <summary>Settings for <see cref="HubsClient"/>.</summary>
public sealed class HubsClientOptions
{
    /// <summary>
    /// The hub URL, for example <c>https://hubs.example.com/hubs/rooms</c>. Set this or <see cref="Urls"/>; when both
    /// are set, <see cref="Url"/> is tried first.
    /// </summary>
    public Uri? Url { get; init; }

    /// <summary>
    /// Hub URLs of several nodes. The first connect tries them in order; after a loss the client reconnects to any that
    /// answers, starting with the one after the node it lost. Nodes need no sticky sessions with
    /// <see cref="SkipNegotiation"/>.
    /// </summary>
    public IReadOnlyList<Uri>? Urls { get; init; }

    /// <summary>
    /// Returns the token to connect with. Called before every connect and reconnect, so that a refreshed token is
    /// used after a drop.
    /// </summary>
    public required Func<CancellationToken, ValueTask<string?>> AccessTokenProvider { get; init; }

    /// <summary>
    /// Speak the binary MessagePack hub protocol instead of JSON: smaller frames and less CPU on both ends. The server
    /// accepts both on the same endpoint.
    /// </summary>
    public bool UseMessagePack { get; init; }

    /// <summary>Transports to allow; <see langword="null"/> lets SignalR choose.</summary>
    public HttpTransportType? Transports { get; init; }

    /// <summary>Connect over WebSockets without the negotiate request (no sticky sessions needed behind a load balancer).</summary>
    public bool SkipNegotiation { get; init; }

    /// <summary>Upper bound of the first reconnect delay; each further attempt doubles it, with full jitter.</summary>
    public TimeSpan InitialReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Largest delay between reconnect attempts.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long before its token expires a connection is replaced by one opened with a fresh token from
    /// <see cref="AccessTokenProvider"/> (the rooms are joined on the new one first, so nothing is lost and nobody sees
    /// the user leave). Short-lived tokens are replaced with a third of their life left. Only tokens that are JWTs can be
    /// scheduled; <see cref="TimeSpan.Zero"/> turns replacement off, leaving expiry to the reconnect.
    /// </summary>
    public TimeSpan TokenRefreshLead { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long <see cref="HubsClient.SendMessage(Hubs.Contracts.SendMessageRequest, CancellationToken)"/> keeps trying
    /// when the connection is lost or the server could not store the message: it waits for the reconnect and sends again
    /// with the same <c>clientMessageId</c>, which the server stores once. <see cref="TimeSpan.Zero"/> sends once.
    /// </summary>
    public TimeSpan SendRetryTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the client logs; nothing is logged when unset. Tokens and message text are never logged.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Clock for reconnect delays, token refresh and send retries.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Further configuration of the underlying SignalR connection (protocols, timeouts).</summary>
    public Action<IHubConnectionBuilder>? ConfigureConnection { get; init; }
}

/// <summary>Connection state of a <see cref="HubsClient"/>.</summary>
public enum HubsConnectionState
{
    /// <summary>Not connected and not trying to.</summary>
    Disconnected,

    /// <summary>The first connect is under way.</summary>
    Connecting,

    /// <summary>Connected, with joined rooms rejoined and caught up.</summary>
    Connected,

    /// <summary>The connection dropped; reconnecting with backoff.</summary>
    Reconnecting,
}

/// <summary>Argument of <see cref="HubsClient.StateChanged"/>.</summary>
/// <param name="previous">The state before.</param>
/// <param name="current">The state now.</param>
/// <param name="error">Why the connection dropped, when it did.</param>
public sealed class HubsStateChangedEventArgs(HubsConnectionState previous, HubsConnectionState current, Exception? error) : EventArgs
{
    /// <summary>The state before.</summary>
    public HubsConnectionState Previous { get; } = previous;

    /// <summary>The state now.</summary>
    public HubsConnectionState Current { get; } = current;

    /// <summary>Why the connection dropped, when it did.</summary>
    public Exception? Error { get; } = error;
}
