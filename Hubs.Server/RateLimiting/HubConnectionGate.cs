using System.Globalization;
using System.Threading.RateLimiting;
using Hubs.Contracts;
using Hubs.Server.Lifecycle;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Hubs.Server.RateLimiting;

/// <summary>
/// Runs in front of routing and authentication for the hub path, so refusals cost no token work: a foreign browser
/// origin gets 403 (T23); more connection attempts per client address than allowed get 429 with Retry-After (T14);
/// a node at its connection cap gets 429 (T15); a draining node, and one without a dependency it needs (Redis not
/// reachable yet, T28), gets 503, so that clients and load balancers go to another node at once. Connection attempts are negotiate requests and transport starts (WebSocket upgrades, event
/// streams); long-polling requests of an open connection are not attempts. A transport start that carries the
/// connection token of an earlier negotiate (<c>id</c>) is checked for drain, origin and node cap but is not charged
/// to the address again, so one connect costs one attempt whether or not the client negotiates first.
/// </summary>
internal sealed partial class HubConnectionGate : IDisposable
{
    private static readonly TimeSpan NodeFullRetryAfter = TimeSpan.FromSeconds(5);

    private readonly RequestDelegate _next;
    private readonly HashSet<string> _allowedOrigins;
    private readonly bool _anyOrigin;
    private readonly LimitsOptions _limits;
    private readonly LocalConnections _connections;
    private readonly NodeDrain _drain;
    private readonly IHubDependency[] _dependencies;
    private readonly HubsMetrics _metrics;
    private readonly ILogger<HubConnectionGate> _logger;
    private readonly PartitionedRateLimiter<string> _attemptsPerAddress;

    public HubConnectionGate(
        RequestDelegate next,
        IOptions<HubsOptions> hubs,
        IOptions<LimitsOptions> limits,
        IHostEnvironment environment,
        LocalConnections connections,
        NodeDrain drain,
        IEnumerable<IHubDependency> dependencies,
        HubsMetrics metrics,
        ILogger<HubConnectionGate> logger)
    {
        _next = next;
        _limits = limits.Value;
        _connections = connections;
        _drain = drain;
        _dependencies = [.. dependencies];
        _metrics = metrics;
        _logger = logger;
        _allowedOrigins = new HashSet<string>(hubs.Value.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

        // The contract: with no list configured, Development accepts any browser origin and other environments none.
        _anyOrigin = _allowedOrigins.Count == 0 && environment.IsDevelopment();
        var perMinute = _limits.ConnectsPerMinutePerAddress;
        _attemptsPerAddress = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetSlidingWindowLimiter(
            address,
            _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = perMinute,
                Window = TimeSpan.FromMinutes(1),
                SegmentsPerWindow = 6,
                QueueLimit = 0,
            }));
    }

    /// <summary>
    /// Every check is synchronous, so nothing here is async: an admitted WebSocket's request lasts as long as its
    /// connection, and an async method would keep its state for that whole time.
    /// </summary>
    public Task InvokeAsync(HttpContext context)
    {
        var attempt = context.Request.Path.StartsWithSegments(HubRoutes.Rooms) ? Classify(context) : Attempt.None;
        return attempt == Attempt.None || Admit(context, attempt) ? _next(context) : Task.CompletedTask;
    }

    public void Dispose() => _attemptsPerAddress.Dispose();

    /// <summary>False when the attempt was refused (the response says why).</summary>
    private bool Admit(HttpContext context, Attempt attempt)
    {
        if (_drain.IsDraining || !_dependencies.All(d => d.IsAvailable))
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return false;
        }

        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && !_anyOrigin && !_allowedOrigins.Contains(origin.TrimEnd('/')))
        {
            Log.OriginRefused(_logger);
            _metrics.Denied("origin");
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return false;
        }

        if (attempt == Attempt.New)
        {
            var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            using var lease = _attemptsPerAddress.AttemptAcquire(address);
            if (!lease.IsAcquired)
            {
                Log.AttemptsExceeded(_logger);
                _metrics.Denied(ErrorCodes.RateLimited);
                Refuse(context, lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(10));
                return false;
            }
        }

        if (_connections.Count >= _limits.MaxConnectionsPerNode)
        {
            Log.NodeFull(_logger, _connections.Count);
            _metrics.Denied("node_full");
            Refuse(context, NodeFullRetryAfter);
            return false;
        }

        return true;
    }

    private static Attempt Classify(HttpContext context)
    {
        var request = context.Request;
        if (request.Path.Value!.EndsWith("/negotiate", StringComparison.Ordinal))
        {
            return Attempt.New;
        }

        // WebSocket upgrades are told from the request itself: context.WebSockets knows them only inside the hub's
        // endpoint, where SignalR adds the WebSocket middleware, so checking it here let a connect with
        // skipNegotiation pass unseen.
        var transportStart = context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
            || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true
            || (HttpMethods.IsGet(request.Method) && request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.Ordinal));
        if (!transportStart)
        {
            return Attempt.None;
        }

        return request.Query.ContainsKey("id") ? Attempt.Negotiated : Attempt.New;
    }

    private static void Refuse(HttpContext context, TimeSpan retryAfter)
    {
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers[HeaderNames.RetryAfter] =
            Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
    }

    private enum Attempt
    {
        /// <summary>Not a connection attempt: a long-polling request, or not for the hub.</summary>
        None,

        /// <summary>A negotiate, or a transport start without one (skipNegotiation): charged to the address.</summary>
        New,

        /// <summary>The transport start of a connection already negotiated (and charged).</summary>
        Negotiated,
    }

    private static partial class Log
    {
        // No address or origin text in these lines: ids and codes only (T26).
        [LoggerMessage(1, LogLevel.Information, "Refused a hub connection attempt: origin not allowed")]
        public static partial void OriginRefused(ILogger logger);

        [LoggerMessage(2, LogLevel.Information, "Refused a hub connection attempt: too many attempts from one address")]
        public static partial void AttemptsExceeded(ILogger logger);

        [LoggerMessage(3, LogLevel.Warning, "Refused a hub connection attempt: node is at its cap with {ConnectionCount} connections")]
        public static partial void NodeFull(ILogger logger, int connectionCount);
    }
}
