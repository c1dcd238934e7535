using System.Buffers.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Client;

/// <summary>
/// One SignalR connection to one node, as <see cref="HubsClient"/> holds it: the node's URL, when its token expires,
/// which rooms it has joined, and how many calls are running on it (so that a connection being replaced is stopped
/// only once they are done).
/// </summary>
internal sealed class NodeConnection(int urlIndex, Uri url)
{
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private TaskCompletionSource? _idle;
    private int _calls;
    private bool _tokenSeen;

    public int UrlIndex { get; } = urlIndex;

    public Uri Url { get; } = url;

    public HubConnection Hub { get; set; } = null!;

    /// <summary>Completes with the close error once the connection has closed, for whatever reason.</summary>
    public Task<Exception?> Closed => _closed.Task;

    /// <summary>When the token this connection was opened with expires; null when unknown (not a JWT).</summary>
    public DateTimeOffset? TokenExpires { get; private set; }

    /// <summary>When to open a replacement with a fresh token; null when never.</summary>
    public DateTimeOffset? RefreshAt { get; set; }

    public void MarkClosed(Exception? error) => _closed.TrySetResult(error);

    /// <summary>
    /// Notes the token the connection is opened with. Only the first counts: the server closes the connection when
    /// that one expires (long polling asks again for each poll, which does not extend it).
    /// </summary>
    public void TokenIssued(string? token, DateTimeOffset now, TimeSpan refreshLead)
    {
        lock (_gate)
        {
            if (_tokenSeen)
            {
                return;
            }

            _tokenSeen = true;
        }

        if (token is null || !TryReadExpiry(token, out var expires))
        {
            return;
        }

        TokenExpires = expires;
        var remaining = expires - now;
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        // Long-lived tokens are replaced a lead before expiry, short ones with a third of their life left.
        var wait = remaining > refreshLead * 3 ? remaining - refreshLead : remaining * 2 / 3;
        RefreshAt = now + wait;
    }

    public void Joined(string roomId)
    {
        lock (_gate)
        {
            _rooms.Add(roomId);
        }
    }

    public bool HasJoined(string roomId)
    {
        lock (_gate)
        {
            return _rooms.Contains(roomId);
        }
    }

    /// <summary>Counts a call as running until the returned handle is disposed.</summary>
    public CallScope BeginCall()
    {
        lock (_gate)
        {
            _calls++;
        }

        return new CallScope(this);
    }

    /// <summary>Completes when no call is running, or when <paramref name="bound"/> passes.</summary>
    public async Task WhenIdleAsync(TimeSpan bound)
    {
        Task idle;
        lock (_gate)
        {
            if (_calls == 0)
            {
                return;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            idle = _idle.Task;
        }

        await Task.WhenAny(idle, Closed, Task.Delay(bound));
    }

    /// <summary>Reads <c>exp</c> from a JWT's payload without validating it: the server validates; this only schedules.</summary>
    internal static bool TryReadExpiry(string token, out DateTimeOffset expires)
    {
        expires = default;
        var parts = token.Split('.');
        if (parts.Length != 3 || !Base64Url.IsValid(parts[1]))
        {
            return false;
        }

        try
        {
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            if (payload.RootElement.ValueKind == JsonValueKind.Object
                && payload.RootElement.TryGetProperty("exp", out var exp)
                && exp.TryGetInt64(out var seconds))
            {
                expires = DateTimeOffset.FromUnixTimeSeconds(seconds);
                return true;
            }
        }
        catch (Exception error) when (error is JsonException or ArgumentOutOfRangeException or FormatException)
        {
            // Not a JWT this client can read: no refresh is scheduled and a reconnect covers expiry.
        }

        return false;
    }

    private void EndCall()
    {
        lock (_gate)
        {
            if (--_calls == 0 && _idle is { } idle)
            {
                _idle = null;
                idle.TrySetResult();
            }
        }
    }

    public readonly struct CallScope(NodeConnection node) : IDisposable
    {
        public void Dispose() => node.EndCall();
    }
}
