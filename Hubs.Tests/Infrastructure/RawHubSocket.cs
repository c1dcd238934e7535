using System.Buffers;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// A bare WebSocket speaking SignalR's JSON (or MessagePack) protocol by hand: for peers that misbehave in ways no
/// SignalR client would (silence, garbage, huge frames, not reading).
/// </summary>
internal sealed class RawHubSocket : IAsyncDisposable
{
    public const char RecordSeparator = '\u001e';

    private readonly IHubProtocol _protocol;

    private RawHubSocket(ClientWebSocket socket, IHubProtocol protocol)
    {
        Socket = socket;
        _protocol = protocol;
    }

    public ClientWebSocket Socket { get; }

    /// <summary>
    /// The HTTP status a WebSocket upgrade to <paramref name="url"/> gets (101 when accepted), as a client connecting
    /// with skipNegotiation sends it; optionally through <paramref name="invoker"/> and with an <c>Origin</c> header.
    /// </summary>
    public static async Task<System.Net.HttpStatusCode> UpgradeStatusAsync(Uri url, HttpMessageInvoker? invoker = null, string? origin = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        var uri = new UriBuilder(url) { Scheme = url.Scheme == "https" ? "wss" : "ws" }.Uri;
        try
        {
            await socket.ConnectAsync(uri, invoker, CancellationToken.None);
        }
        catch (WebSocketException)
        {
            // Refused before the upgrade: the status says why.
        }

        return socket.HttpStatusCode;
    }

    /// <param name="hubUrl">The hub.</param>
    /// <param name="token">Sent as <c>access_token</c>.</param>
    /// <param name="handshake">Whether to complete SignalR's handshake.</param>
    /// <param name="receiveBufferBytes">
    /// A small kernel receive buffer for the socket, so that a peer that stops reading backs the server up quickly.
    /// </param>
    /// <param name="messagePack">Whether the handshake asks for the MessagePack protocol rather than JSON.</param>
    public static async Task<RawHubSocket> ConnectAsync(
        Uri hubUrl, string token, bool handshake = true, int? receiveBufferBytes = null, bool messagePack = false)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        var uri = new UriBuilder(hubUrl) { Scheme = hubUrl.Scheme == "https" ? "wss" : "ws", Query = $"access_token={token}" }.Uri;
        if (receiveBufferBytes is int size)
        {
            using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
            {
                ConnectCallback = async (context, cancellationToken) =>
                {
                    var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = size };
                    try
                    {
                        await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                        return new NetworkStream(tcp, ownsSocket: true);
                    }
                    catch
                    {
                        tcp.Dispose();
                        throw;
                    }
                },
            });
            await socket.ConnectAsync(uri, invoker, CancellationToken.None);
        }
        else
        {
            await socket.ConnectAsync(uri, CancellationToken.None);
        }

        var raw = new RawHubSocket(socket, messagePack ? new MessagePackHubProtocol() : new JsonHubProtocol());
        if (handshake)
        {
            await raw.SendTextAsync($$"""{"protocol":"{{raw._protocol.Name}}","version":1}""" + RecordSeparator);
            var reply = await raw.ReceiveTextAsync();
            Assert.That(reply, Is.EqualTo("{}" + RecordSeparator), "handshake accepted");
        }

        return raw;
    }

    public Task SendTextAsync(string text) => SendBytesAsync(Encoding.UTF8.GetBytes(text));

    public Task SendBytesAsync(byte[] bytes, bool endOfMessage = true) =>
        Socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage, CancellationToken.None);

    public Task SendBinaryAsync(byte[] bytes) => Socket.SendAsync(bytes, WebSocketMessageType.Binary, true, CancellationToken.None);

    private int _nextInvocationId;
    private CancellationTokenSource? _pinging;
    private Task _pinger = Task.CompletedTask;

    /// <summary>
    /// Sends a SignalR ping every <paramref name="interval"/> until disposed, as a live client does, so the server's
    /// silent-peer timeout does not apply; the socket need not read anything meanwhile.
    /// </summary>
    public void StartPinging(TimeSpan interval)
    {
        _pinging = new CancellationTokenSource();
        var stop = _pinging.Token;
        _pinger = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval);
            try
            {
                while (await timer.WaitForNextTickAsync(stop) && Socket.State == WebSocketState.Open)
                {
                    await SendTextAsync("""{"type":6}""" + RecordSeparator);
                }
            }
            catch (Exception) when (stop.IsCancellationRequested || Socket.State != WebSocketState.Open)
            {
                // Stopped, or the server closed the socket.
            }
        });
    }

    /// <summary>Sends an invocation (the answer arrives as a completion message the caller may read or ignore).</summary>
    public Task InvokeAsync(string target, params object[] arguments) =>
        SendTextAsync(System.Text.Json.JsonSerializer.Serialize(new
        {
            type = 1,
            invocationId = Interlocked.Increment(ref _nextInvocationId).ToString(System.Globalization.CultureInfo.InvariantCulture),
            target,
            arguments,
        }) + RecordSeparator);

    /// <summary>Reads frames until one holds the completion of an invocation (SignalR message type 3).</summary>
    public async Task<string> ReceiveCompletionAsync()
    {
        for (var i = 0; i < 100; i++)
        {
            var text = await ReceiveTextAsync();
            var completion = text.Split(RecordSeparator).FirstOrDefault(r => r.Contains("\"type\":3", StringComparison.Ordinal));
            if (completion is not null)
            {
                return completion;
            }
        }

        Assert.Fail("no completion arrived");
        return string.Empty;
    }

    /// <summary>
    /// Reads what the server sends, in the handshake's protocol, until a close message arrives within
    /// <paramref name="within"/>; returns its error (null when it has none). Fails the test if none arrives.
    /// </summary>
    public async Task<string?> ReceiveCloseMessageErrorAsync(TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var buffer = new byte[64 * 1024];
        var received = new ArrayBufferWriter<byte>();
        var parsed = 0;
        try
        {
            while (DateTime.UtcNow < deadline)
            {
                var result = await Socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(deadline - DateTime.UtcNow);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                received.Write(buffer.AsSpan(0, result.Count));
                var unread = new ReadOnlySequence<byte>(received.WrittenMemory[parsed..]);
                while (_protocol.TryParseMessage(ref unread, NoCalls.Binder, out var message))
                {
                    if (message is CloseMessage close)
                    {
                        return close.Error;
                    }
                }

                parsed = received.WrittenCount - (int)unread.Length;
            }
        }
        catch (TimeoutException)
        {
            // Reported below.
        }
        catch (WebSocketException)
        {
            // Closed without a close message: reported below.
        }

        Assert.Fail($"no close message arrived within {within.TotalSeconds} s");
        return null;
    }

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
        if (_pinging is not null)
        {
            await _pinging.CancelAsync();
            _pinging.Dispose();
        }

        Socket.Abort();
        await _pinger.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Socket.Dispose();
    }

    /// <summary>Binds nothing: the server's own messages to a client need no binding to find its close message.</summary>
    private sealed class NoCalls : IInvocationBinder
    {
        public static readonly NoCalls Binder = new();

        public IReadOnlyList<Type> GetParameterTypes(string methodName) => throw new InvalidOperationException("not bound");

        public Type GetReturnType(string invocationId) => throw new InvalidOperationException("not bound");

        public Type GetStreamItemType(string streamId) => throw new InvalidOperationException("not bound");
    }
}
