using System.Collections.Concurrent;
using Hubs.Server.Lifecycle;
using Hubs.Server.Telemetry;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// The one owner of the Redis channels this node listens on (the SignalR backplane's own aside): each is subscribed in
/// the background, retried with jittered backoff until it holds and again whenever it stops holding, so that a node
/// started before its Redis starts anyway (T28). Readiness and hub connections wait for <see cref="Established"/>.
/// </summary>
/// <remarks>
/// StackExchange.Redis adds a handler to its table before it sends SUBSCRIBE and keeps it there when the SUBSCRIBE
/// fails; it re-subscribes what its table holds whenever its subscription connection comes back. Subscribing the same
/// handler again would deliver every message to it twice, so each attempt first takes the handler out.
/// </remarks>
internal sealed partial class RedisSubscriptions(IConnectionMultiplexer redis, HubsMetrics metrics, ILogger<RedisSubscriptions> logger)
    : BackgroundService, IHubDependency
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(2);

    /// <summary>How often subscriptions that hold are checked; a restored connection wakes the loop sooner.</summary>
    private static readonly TimeSpan HoldingCheck = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<RedisChannel, Registration> _registrations = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly TaskCompletionSource _firstRound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// The subscription connection is up and every registered channel is subscribed on it; also before any channel is
    /// registered (the backplane asks while the host is still being built), never without a connection.
    /// </summary>
    public bool Established => redis.GetSubscriber().IsConnected() && _registrations.Values.All(Holds);

    bool IHubDependency.IsAvailable => Established;

    /// <summary>Whether <paramref name="channel"/> is registered and its subscription holds now.</summary>
    public bool Holds(RedisChannel channel) => _registrations.TryGetValue(channel, out var registration) && Holds(registration);

    /// <summary>Listens on <paramref name="channel"/> from now on; returns at once, the subscription is made in the background.</summary>
    public void Add(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        if (!_registrations.TryAdd(channel, new Registration(channel, handler)))
        {
            throw new InvalidOperationException($"Channel {channel} has a handler already.");
        }

        _wake.Release();
    }

    /// <summary>
    /// Starts the loop and waits (a bounded while) for its first round. Registered after the services that add
    /// channels, and hosted services start before the server listens: a node whose Redis is up takes its first
    /// connection with every subscription in place instead of answering 503 for the first moments.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await _firstRound.Task.WaitAsync(LongestRetry, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        var subscriber = redis.GetSubscriber();
        foreach (var registration in _registrations.Values)
        {
            try
            {
                await subscriber.UnsubscribeAsync(registration.Channel, registration.Handler).WaitAsync(RedisGateway.CallBudget, cancellationToken);
            }
            catch (Exception error) when (error is RedisException or TimeoutException)
            {
                // Redis is away at shutdown: the server drops this connection's subscriptions when it closes.
            }
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _wake.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionRestored += Wake;
        try
        {
            var failedRounds = 0;
            while (!stoppingToken.IsCancellationRequested)
            {
                var missing = 0;
                foreach (var registration in _registrations.Values.Where(r => !Holds(r)))
                {
                    missing += await TrySubscribeAsync(registration) ? 0 : 1;
                }

                failedRounds = missing == 0 ? 0 : failedRounds + 1;
                _firstRound.TrySetResult();
                await _wake.WaitAsync(failedRounds == 0 ? HoldingCheck : Backoff(failedRounds), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            redis.ConnectionRestored -= Wake;
        }
    }

    private static TimeSpan Backoff(int failedRounds)
    {
        var ceiling = Math.Min(LongestRetry.TotalMilliseconds, FirstRetry.TotalMilliseconds * Math.Pow(2, Math.Min(failedRounds - 1, 8)));

        // Jitter: the nodes of a cluster that lost Redis together do not all come back in step.
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() / 2)));
    }

    // SubscribedEndpoint is set only by a SUBSCRIBE's reply and cleared when the subscription connection drops.
    private bool Holds(Registration registration)
    {
        var subscriber = redis.GetSubscriber();
        return registration.Subscribed && subscriber.SubscribedEndpoint(registration.Channel) is not null && subscriber.IsConnected(registration.Channel);
    }

    private async Task<bool> TrySubscribeAsync(Registration registration)
    {
        var subscriber = redis.GetSubscriber();
        try
        {
            registration.Subscribed = false;
            await subscriber.UnsubscribeAsync(registration.Channel, registration.Handler);
        }
        catch (RedisException)
        {
            // Out of the table either way: the library removes the handler before it tells the server.
        }

        try
        {
            await subscriber.SubscribeAsync(registration.Channel, registration.Handler);
            registration.Subscribed = true;
            if (registration.Failing)
            {
                registration.Failing = false;
                Log.Established(logger, registration.Channel.ToString());
            }

            return true;
        }
        catch (Exception error) when (error is RedisException or TimeoutException)
        {
            metrics.RedisFailure("subscribe");
            if (!registration.Failing)
            {
                registration.Failing = true;
                Log.NotEstablished(logger, registration.Channel.ToString(), error.GetType().Name);
            }

            return false;
        }
    }

    // Whatever the multiplexer re-subscribed by itself is checked at once, and anything it did not is subscribed.
    private void Wake(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            _wake.Release();
        }
    }

    private sealed class Registration(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        public RedisChannel Channel { get; } = channel;

        public Action<RedisChannel, RedisValue> Handler { get; } = handler;

        /// <summary>The handler is in the multiplexer's table and its SUBSCRIBE succeeded at least once since.</summary>
        public volatile bool Subscribed;

        /// <summary>A failure was logged and no success since.</summary>
        public volatile bool Failing;
    }

    private static partial class Log
    {
        // The channel names are this deployment's key prefix and a fixed name; no endpoint or error text.
        [LoggerMessage(1, LogLevel.Warning, "Redis subscription to {Channel} is not established ({ErrorType}); retrying in the background, not ready until it holds")]
        public static partial void NotEstablished(ILogger logger, string channel, string errorType);

        [LoggerMessage(2, LogLevel.Information, "Redis subscription to {Channel} established")]
        public static partial void Established(ILogger logger, string channel);
    }
}
