using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Telemetry;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Every Redis call goes through here: a timeout on each call, retries with jitter for idempotent reads only, and a
/// circuit breaker, so that an unreachable Redis answers <c>unavailable</c> in well under 2 s instead of hanging (T25).
/// Each failure is logged once, with the operation, and counted.
/// </summary>
internal sealed partial class RedisGateway
{
    /// <summary>Bound of one call including retries; clients get <c>unavailable</c> within it.</summary>
    public static readonly TimeSpan CallBudget = TimeSpan.FromMilliseconds(1500);

    private readonly IConnectionMultiplexer _redis;
    private readonly HubsMetrics _metrics;
    private readonly ILogger<RedisGateway> _logger;
    private readonly ResiliencePipeline _guard;
    private readonly ResiliencePipeline _writes;
    private readonly ResiliencePipeline _reads;
    private readonly ResiliencePipeline _liveness;

    public RedisGateway(IConnectionMultiplexer redis, HubsMetrics metrics, ILogger<RedisGateway> logger)
    {
        _redis = redis;
        _metrics = metrics;
        _logger = logger;
        var transient = new PredicateBuilder()
            .Handle<RedisException>()
            .Handle<RedisTimeoutException>()
            .Handle<TimeoutRejectedException>();

        // One breaker for every call, whichever kind notices first that Redis is down; each attempt has its own timeout.
        _guard = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = 5,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(2),
            })
            .AddTimeout(TimeSpan.FromMilliseconds(1000))
            .Build();
        // A write is never retried, so its one attempt's timeout is its whole budget.
        _writes = _guard;
        _reads = new ResiliencePipelineBuilder()
            .AddTimeout(CallBudget)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = 2,
                Delay = TimeSpan.FromMilliseconds(50),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .AddPipeline(_guard)
            .Build();

        // The heartbeat must go out the moment Redis is back, not once the breaker that the node's other calls tripped
        // lets calls through again: other nodes count the time since they are back against it (T27).
        _liveness = new ResiliencePipelineBuilder()
            .AddTimeout(TimeSpan.FromMilliseconds(1000))
            .Build();
    }

    /// <summary>A change; never retried, since a retry after a lost reply could apply it twice.</summary>
    public Task<T> WriteAsync<T>(string operation, Func<IDatabase, Task<T>> call, CancellationToken cancellationToken) =>
        RunAsync(_writes, operation, call, cancellationToken);

    /// <summary>An idempotent read; retried with jitter within the call budget.</summary>
    public Task<T> ReadAsync<T>(string operation, Func<IDatabase, Task<T>> call, CancellationToken cancellationToken) =>
        RunAsync(_reads, operation, call, cancellationToken);

    /// <summary>A liveness write (the node's heartbeat): never retried, outside the circuit breaker, one attempt's timeout.</summary>
    public Task<T> LivenessWriteAsync<T>(string operation, Func<IDatabase, Task<T>> call, CancellationToken cancellationToken) =>
        RunAsync(_liveness, operation, call, cancellationToken);

    private async Task<T> RunAsync<T>(ResiliencePipeline pipeline, string operation, Func<IDatabase, Task<T>> call, CancellationToken cancellationToken)
    {
        var database = _redis.GetDatabase();
        try
        {
            // StackExchange.Redis takes no token: WaitAsync lets the pipeline's timeouts end the wait.
            // State instead of closures, and one pipeline per call: this runs for every Redis call the server makes.
            return await pipeline.ExecuteAsync(
                static (state, token) => new ValueTask<T>(state.call(state.database).WaitAsync(token)),
                (call, database),
                cancellationToken);
        }
        catch (Exception error) when (error is RedisException or TimeoutRejectedException or BrokenCircuitException)
        {
            Log.RedisFailed(_logger, operation, error.GetType().Name, error.Message);
            _metrics.RedisFailure(operation);
            throw new HubsErrorException(ErrorCodes.Unavailable, "the service is temporarily unavailable, try again");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Redis {Operation} failed: {ErrorType}: {Reason}")]
        public static partial void RedisFailed(ILogger logger, string operation, string errorType, string reason);
    }
}
