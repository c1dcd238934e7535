using System.Security.Claims;
using BenchmarkDotNet.Attributes;
using Hubs.Contracts;
using Hubs.Server.Audit;
using Hubs.Server.Authorization;
using Hubs.Server.Lifecycle;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.RateLimiting;
using Hubs.Server.Rooms;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Hubs.Benchmarks;

/// <summary>
/// The paths every message and call takes on the server: the permission decision, the whole hub filter around a
/// call (authentication, validation, rate limit, room decision), and accepting a message into the history.
/// </summary>
[MemoryDiagnoser]
public class HotPathBenchmarks
{
    private static readonly HubsUser Member = new("bench-user", "Bench", ["staff"], null);

    private readonly RoomRecord _public = new("lobby", "Lobby", RoomPermission.Public, "owner", [], 1000, DateTimeOffset.UnixEpoch);
    private readonly RoomRecord _restricted = new("ops", "Ops", RoomPermission.Restricted, "owner", ["admin", "staff"], 1000, DateTimeOffset.UnixEpoch);
    private RoomHubFilter _filter = null!;
    private ServiceProvider _services = null!;
    private HubInvocationContext _getRoom = null!;
    private HubInvocationContext _send = null!;
    private InMemoryRoomMessageLog _log = null!;
    private HubArgumentRules _rules = null!;
    private long _sequence;

    [GlobalSetup]
    public async Task SetUpAsync()
    {
        _services = new ServiceCollection().AddMetrics().AddSingleton<HubsMetrics>().AddScoped<RoomInvocation>().BuildServiceProvider();
        // Far above the validated maxima (set here without validation): the benchmark measures the filter, not the limiter refusing.
        var limits = Options.Create(new LimitsOptions { InvocationsPerSecondPerConnection = 100_000_000, MessagesPerSecondPerUserPerRoom = 100_000_000 });
        var metrics = _services.GetRequiredService<HubsMetrics>();
        var rooms = new InMemoryRoomStore();
        var presence = new InMemoryPresenceTracker();
        await rooms.TryCreateAsync(_public, CancellationToken.None);
        await presence.ConnectAsync("conn-1", Member, 10, CancellationToken.None);
        await presence.JoinAsync("lobby", "conn-1", Member, 1000, 100, CancellationToken.None);
        _rules = new HubArgumentRules(limits.Value);
        _filter = new RoomHubFilter(
            _rules,
            rooms,
            new StoreRoomViews(rooms),
            presence,
            new InvocationRateLimiter(limits, metrics, NullLogger<InvocationRateLimiter>.Instance),
            new NodeDrain(Options.Create(new DrainOptions()), metrics, TimeProvider.System, NullLogger<NodeDrain>.Instance),
            new AuditTrail(new InMemoryAuditStore(Options.Create(new AuditOptions())), metrics, TimeProvider.System, NullLoggerFactory.Instance),
            metrics,
            TimeProvider.System,
            NullLogger<RoomHubFilter>.Instance);
        var caller = new BenchCallerContext();
        caller.Items[typeof(HubsUser)] = Member;
        ConnectionInvocations.Attach(caller);
        _getRoom = new HubInvocationContext(caller, _services, new BenchHub(), typeof(RoomHub).GetMethod(nameof(RoomHub.GetRoom))!, ["lobby"]);
        _send = new HubInvocationContext(caller, _services, new BenchHub(), typeof(RoomHub).GetMethod(nameof(RoomHub.SendMessage))!,
            [new SendMessageRequest("lobby", "hello from the benchmark")]);
        _log = new InMemoryRoomMessageLog(Options.Create(new HistoryOptions()), new InMemorySendAdmission(presence, limits));
    }

    [GlobalCleanup]
    public void CleanUp() => _services.Dispose();

    [Benchmark]
    public bool PermissionDecision_Restricted() => RoomAccess.CanJoin(_restricted, Member, default);

    [Benchmark]
    public ValueTask<object?> Filter_GetRoom() => _filter.InvokeMethodAsync(_getRoom, static _ => ValueTask.FromResult<object?>(null));

    [Benchmark]
    public ValueTask<object?> Filter_SendMessage() => _filter.InvokeMethodAsync(_send, static _ => ValueTask.FromResult<object?>(null));

    [Benchmark]
    public Task MessageAccept()
    {
        var request = (SendMessageRequest)_send.HubMethodArguments[0]!;
        var draft = new MessageDraft(Member.UserId, Member.DisplayName, request.Text, DateTimeOffset.UtcNow, $"id-{++_sequence}");
        return _log.AppendAsync("lobby", draft, admitConnectionId: "conn-1", CancellationToken.None);
    }

    private sealed class BenchHub : Hub;

    private sealed class BenchCallerContext : HubCallerContext
    {
        public override string ConnectionId => "conn-1";

        public override string? UserIdentifier => null;

        public override ClaimsPrincipal? User => new(new ClaimsIdentity());

        public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override CancellationToken ConnectionAborted => CancellationToken.None;

        public override void Abort()
        {
        }
    }
}
