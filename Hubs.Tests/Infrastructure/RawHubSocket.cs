using System.Net.WebSockets;
using System.Text;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// A bare WebSocket speaking SignalR's JSON protocol by hand: for peers that misbehave in ways no SignalR client
/// would (silence, garbage, huge frames, not reading).
/// </summary>
internal sealed class RawHubSocket : IAsyncDisposable
{
    public const char RecordSeparator = '\u001e';

    private RawHubSocket(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public static async Task<RawHubSocket> ConnectAsync(Uri hubUrl, string token, bool handshake = true)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        var uri = new UriBuilder(hubUrl) { Scheme = hubUrl.Scheme == "https" ? "wss" : "ws", Query = $"access_token={token}" }.Uri;
        await socket.ConnectAsync(uri, CancellationToken.None);
        var raw = new RawHubSocket(socket);
        if (handshake)
        {
            await raw.SendTextAsync("""{"protocol":"json","version":1}""" + RecordSeparator);
            var reply = await raw.ReceiveTextAsync();
            Assert.That(reply, Is.EqualTo("{}" + RecordSeparator), "handshake accepted");
        }

        return raw;
    }

    public Task SendTextAsync(string text) => SendBytesAsync(Encoding.UTF8.GetBytes(text));

    public Task SendBytesAsync(byte[] bytes, bool endOfMessage = true) =>
        Socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage, CancellationToken.None);

    private int _nextInvocationId;

    /// <summary>Sends an invocation (the answer arrives as a completion message the caller may read or ignore).</summary>
    public Task InvokeAsync(string target, params object[] arguments) =>
        SendTextAsync(System.Text.Json.JsonSerializer.Serialize(new
        {
            type = 1,
            invocationId = Interlocked.Increment(ref _nextInvocationId).ToString(System.Globalization.CultureInfo.InvariantCulture),
            target,
            arguments,
        }) + RecordSeparator);

    public async Task<string> ReceiveTextAsync()
    {
        var buffer = new byte[64 * 1024];
        using var text = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await Socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Await.Timeout);
            text.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

        return result.MessageType == WebSocketMessageType.Close ? string.Empty : Encoding.UTF8.GetString(text.ToArray());
    }

    /// <summary>Reads until the server closes the socket; returns what the server's last frames said.</summary>
    public async Task<string> ReceiveUntilClosedAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Await.Timeout);
        var last = new StringBuilder();
        var buffer = new byte[64 * 1024];
        try
        {
            while (Socket.State == WebSocketState.Open && DateTime.UtcNow < deadline)
            {
                var result = await Socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(deadline - DateTime.UtcNow);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                last.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            }
        }
        catch (WebSocketException)
        {
            // An abort rather than a close handshake: closed all the same.
        }

        Assert.That(Socket.State, Is.Not.EqualTo(WebSocketState.Open), "the server closed the socket");
        return last.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        Socket.Abort();
        Socket.Dispose();
        await Task.CompletedTask;
    }
}
