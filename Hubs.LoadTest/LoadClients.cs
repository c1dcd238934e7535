using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Hubs.Client;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Hubs.LoadTest;

/// <summary>Makes the run's <see cref="HubsClient"/>s: tokens, URL spread, protocol, source addresses, where they log.</summary>
internal sealed class LoadClients(LoadOptions options, ILoggerFactory? loggerFactory = null) : IAsyncDisposable
{
    private static readonly JsonWebTokenHandler Tokens = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly ConcurrentBag<HubsClient> _clients = [];
    private readonly ConcurrentDictionary<string, Task<string>> _devTokens = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new();
    private int _next;

    /// <summary>Connects a client for <paramref name="userId"/>, starting on URL <paramref name="firstUrl"/>, else on the next in turn.</summary>
    public async Task<HubsClient> ConnectAsync(string userId, CancellationToken cancellationToken, int? firstUrl = null)
    {
        var client = Create(userId, firstUrl);
        try
        {
            await client.StartAsync(cancellationToken);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }

        _clients.Add(client);
        return client;
    }

    /// <summary>A client with every URL, <paramref name="firstUrl"/> (else the next in turn) first, the others to fail over to.</summary>
    public HubsClient Create(string userId, int? firstUrl = null)
    {
        var index = Interlocked.Increment(ref _next) - 1;
        var urls = options.Urls;
        var first = (firstUrl ?? index) % urls.Count;
        var rotated = urls.Skip(first).Concat(urls.Take(first)).ToArray();
        var source = options.SourceAddresses.Count > 0 ? options.SourceAddresses[index % options.SourceAddresses.Count] : null;
        return new HubsClient(new HubsClientOptions
        {
            Urls = rotated,
            AccessTokenProvider = async ct => await TokenAsync(userId, ct),
            Transports = HttpTransportType.WebSockets,
            SkipNegotiation = true,
            UseMessagePack = options.MessagePack,
            LoggerFactory = loggerFactory,
            ConfigureConnection = source is null ? null : builder => builder.Services.Configure<HttpConnectionOptions>(http =>
                http.WebSocketFactory = (context, ct) => ConnectFromAsync(source, context, ct)),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_clients.Select(c => c.DisposeAsync().AsTask()));
        _http.Dispose();
    }

    private async ValueTask<string> TokenAsync(string userId, CancellationToken cancellationToken)
    {
        if (options.SigningKey is { } key)
        {
            var now = DateTime.UtcNow;
            return Tokens.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = options.Issuer,
                Audience = options.Audience,
                Claims = new Dictionary<string, object> { ["sub"] = userId },
                IssuedAt = now,
                NotBefore = now,
                Expires = now.AddHours(2),
                SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
            });
        }

        return await _devTokens.GetOrAdd(userId, async user =>
        {
            var origin = new Uri(options.Urls[0].GetLeftPart(UriPartial.Authority));
            using var response = await _http.PostAsJsonAsync(new Uri(origin, "/dev/token"), new { sub = user, lifetimeSeconds = 7200 }, cancellationToken);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadFromJsonAsync<DevToken>(cancellationToken);
            return body?.Token ?? throw new InvalidOperationException("/dev/token returned no token");
        });
    }

    /// <summary>A WebSocket whose TCP connection starts from <paramref name="source"/>: each loopback address has its own ports.</summary>
    private static async ValueTask<WebSocket> ConnectFromAsync(IPAddress source, WebSocketConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        if (context.Options.AccessTokenProvider is { } provider && await provider() is { } token)
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        }

        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (connect, ct) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    tcp.Bind(new IPEndPoint(source, 0));
                    await tcp.ConnectAsync(connect.DnsEndPoint, ct);
                    return new NetworkStream(tcp, ownsSocket: true);
                }
                catch
                {
                    tcp.Dispose();
                    throw;
                }
            },
        };
        await socket.ConnectAsync(context.Uri, new HttpMessageInvoker(handler), cancellationToken);
        return socket;
    }

    private sealed record DevToken(string Token);
}
