using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Hubs.Client;

/// <summary>Settings for <see cref="HubsClient"/>.</summary>
public sealed class HubsClientOptions
{
    /// <summary>The hub URL, for example <c>https://hubs.example.com/hubs/rooms</c>.</summary>
    public required Uri Url { get; init; }

    /// <summary>
    /// Returns the token to connect with. Called before every connect and reconnect, so that a refreshed token is
    /// used after a drop.
    /// </summary>
    public required Func<CancellationToken, ValueTask<string?>> AccessTokenProvider { get; init; }

    /// <summary>Transports to allow; <see langword="null"/> lets SignalR choose.</summary>
    public HttpTransportType? Transports { get; init; }

    /// <summary>Connect over WebSockets without the negotiate request (no sticky sessions needed behind a load balancer).</summary>
    public bool SkipNegotiation { get; init; }

    /// <summary>Upper bound of the first reconnect delay; each further attempt doubles it, with full jitter.</summary>
    public TimeSpan InitialReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Largest delay between reconnect attempts.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the client logs; nothing is logged when unset. Tokens and message text are never logged.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Clock for reconnect delays.</summary>
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
