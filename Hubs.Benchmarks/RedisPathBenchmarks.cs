using BenchmarkDotNet.Attributes;
using Hubs.Contracts;
using Hubs.Server.Infrastructure.Redis;
using Hubs.Server.Rooms;
using Hubs.Server.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hubs.Benchmarks;

/// <summary>
/// What one Redis read costs the server on the way through Hubs' own layers, against the bare client call: the
/// resilience gateway (timeouts, retry, breaker) and a room read as the filter makes it. Needs a redis-server on
/// 127.0.0.1:6379 (<c>HUBS_BENCH_REDIS</c> to point elsewhere).
/// </summary>
[MemoryDiagnoser]
public class RedisPathBenchmarks
{
    private ConnectionMultiplexer _redis = null!;
    private IDatabase _db = null!;
    private RedisGateway _gateway = null!;
    private RedisRoomStore _rooms = null!;
    private RedisSubscriptions _subscriptions = null!;
    private CachedRoomViews _views = null!;
    private RedisKey _key;

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync(Environment.GetEnvironmentVariable("HUBS_BENCH_REDIS") ?? "127.0.0.1:6379");
        _db = _redis.GetDatabase();
        var services = new ServiceCollection().AddMetrics().AddSingleton<HubsMetrics>().BuildServiceProvider();
        _gateway = new RedisGateway(_redis, services.GetRequiredService<HubsMetrics>(), NullLogger<RedisGateway>.Instance);
        var keys = new RedisKeys(Options.Create(new RedisOptions { Prefix = "bench" + Environment.ProcessId }));
        _subscriptions = new RedisSubscriptions(_redis, services.GetRequiredService<HubsMetrics>(), NullLogger<RedisSubscriptions>.Instance);
        await _subscriptions.StartAsync(CancellationToken.None);
        _views = new CachedRoomViews(_gateway, keys, _redis, _subscriptions, TimeProvider.System);
        await _views.StartAsync(CancellationToken.None);

        // The views cache nothing until their change subscription holds.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!_subscriptions.Established)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The room-change subscription did not hold within 10 s.");
            }

            await Task.Delay(10);
        }
        _rooms = new RedisRoomStore(_gateway, keys, _views);
        await _rooms.TryCreateAsync(new RoomRecord("lobby", "Lobby", RoomPermission.Public, "owner", [], 1000, DateTimeOffset.UnixEpoch), CancellationToken.None);
        _key = keys.RoomUsers("lobby");
    }

    [GlobalCleanup]
    public async Task CleanUpAsync()
    {
        await _subscriptions.StopAsync(CancellationToken.None);
        _subscriptions.Dispose();
        _redis.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<long> BareHashLength() => _db.HashLengthAsync(_key);

    [Benchmark]
    public Task<long> GatewayHashLength() => _gateway.ReadAsync("bench", db => db.HashLengthAsync(_key), CancellationToken.None);

    [Benchmark]
    public async Task<bool> RoomWithGrants() => (await _rooms.GetWithGrantsAsync("lobby", "bench-user", CancellationToken.None)).Room is not null;

    /// <summary>The filter's read for an allowed call: the node's cached view (a dictionary look-up once filled).</summary>
    [Benchmark]
    public async Task<bool> CachedRoomView() => (await _views.GetAsync("lobby", "bench-user", CancellationToken.None)).Room is not null;
}
