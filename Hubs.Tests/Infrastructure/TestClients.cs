using Hubs.Client;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Infrastructure;

/// <summary>Typed clients a test opens, configured like a demanding app would, all disposed after the test.</summary>
internal sealed class TestClients : IAsyncDisposable
{
    private readonly List<HubsClient> _clients = [];
    private readonly ILoggerFactory _loggerFactory;

    public TestClients()
    {
        _loggerFactory = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Debug).AddProvider(Logs));
    }

    /// <summary>What the clients logged, for failure messages.</summary>
    public CapturedLogs Logs { get; } = new();

    public static Func<CancellationToken, ValueTask<string?>> TokensFor(string userId) =>
        _ => ValueTask.FromResult<string?>(TestTokens.For(userId));

    public HubsClient New(
        IReadOnlyList<Uri> urls,
        Func<CancellationToken, ValueTask<string?>> tokens,
        TimeSpan? tokenRefreshLead = null,
        TimeSpan? sendRetryTimeout = null,
        bool messagePack = false)
    {
        var client = new HubsClient(new HubsClientOptions
        {
            Urls = urls,
            AccessTokenProvider = tokens,
            Transports = HttpTransportType.WebSockets,
            SkipNegotiation = true,
            UseMessagePack = messagePack,
            InitialReconnectDelay = TimeSpan.FromMilliseconds(50),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
            TokenRefreshLead = tokenRefreshLead ?? TimeSpan.FromSeconds(60),
            SendRetryTimeout = sendRetryTimeout ?? TimeSpan.FromSeconds(20),
            LoggerFactory = _loggerFactory,

            // Cluster fixtures close connections silent for 3 s: ping well within it.
            ConfigureConnection = builder => builder.WithKeepAliveInterval(TimeSpan.FromSeconds(1)),
        });
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    public async Task<HubsClient> StartAsync(IReadOnlyList<Uri> urls, string userId, Func<CancellationToken, ValueTask<string?>>? tokens = null)
    {
        var client = New(urls, tokens ?? TokensFor(userId));
        await client.StartAsync();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        HubsClient[] clients;
        lock (_clients)
        {
            clients = [.. _clients];
            _clients.Clear();
        }

        await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        _loggerFactory.Dispose();
    }
}

/// <summary>
/// Tokens for one user: the first (the initial connect) at once, later ones (reconnects) only once the test opens
/// the gate, so that whatever the test does meanwhile certainly happens while the client is away.
/// </summary>
internal sealed class GatedTokens(Func<int, string> mint)
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public GatedTokens(string userId)
        : this(_ => TestTokens.For(userId))
    {
    }

    public int Calls => Volatile.Read(ref _calls);

    public void Open() => _gate.TrySetResult();

    public async ValueTask<string?> GetAsync(CancellationToken cancellationToken)
    {
        var call = Interlocked.Increment(ref _calls);
        if (call > 1)
        {
            await _gate.Task.WaitAsync(cancellationToken);
        }

        return mint(call);
    }
}
