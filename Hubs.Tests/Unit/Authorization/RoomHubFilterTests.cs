using System.Reflection;
using System.Security.Claims;
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
using Microsoft.Extensions.Time.Testing;

namespace Hubs.Tests.Unit.Authorization;

/// <summary>T5: the filter runs on every hub method and denies by default.</summary>
public sealed class RoomHubFilterTests
{
    private static IEnumerable<TestCaseData> HubMethods() =>
        typeof(IRoomHub).GetMethods().Select(m => new TestCaseData(m.Name).SetName($"T5_Filter_{m.Name}_RefusesUnauthenticatedAndExpired"));

    [Test]
    public void T5_EveryHubMethod_DeclaresRoomAction()
    {
        var undeclared = typeof(IRoomHub).GetMethods()
            .Select(m => typeof(RoomHub).GetMethod(m.Name, m.GetParameters().Select(p => p.ParameterType).ToArray())!)
            .Where(m => m.GetCustomAttribute<RoomActionAttribute>() is null)
            .Select(m => m.Name);

        Assert.That(undeclared, Is.Empty);
    }

    [Test]
    public void PublicHubSurface_IsExactlyTheContract()
    {
        var hubMethods = typeof(RoomHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && m.Name is not (nameof(Hub.OnConnectedAsync) or nameof(Hub.OnDisconnectedAsync)))
            .Select(m => m.Name).Order();

        Assert.That(hubMethods, Is.EqualTo(typeof(IRoomHub).GetMethods().Select(m => m.Name).Order()));
    }

    [TestCaseSource(nameof(HubMethods))]
    public async Task Filter_Method_RefusesUnauthenticatedAndExpired(string methodName)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var (filter, services) = CreateFilter(time);
        var method = typeof(RoomHub).GetMethod(methodName)!;
        var arguments = method.GetParameters().Select(p => ValidArgument(p)).ToArray();

        var anonymous = new TestCallerContext(new ClaimsPrincipal(new ClaimsIdentity()));
        var expiring = new TestCallerContext(new ClaimsPrincipal(new ClaimsIdentity()));
        expiring.Items[typeof(HubsUser)] = new HubsUser("alice", "Alice", [], time.GetUtcNow().AddSeconds(5));

        foreach (var context in new[] { anonymous, expiring })
        {
            if (context == expiring)
            {
                time.Advance(TimeSpan.FromSeconds(6));
            }

            var ran = false;
            using var scope = services.CreateScope();
            var invocation = new HubInvocationContext(context, scope.ServiceProvider, new NoopHub(), method, arguments);
            var error = Assert.ThrowsAsync<HubException>(async () => await filter.InvokeMethodAsync(invocation, _ =>
            {
                ran = true;
                return ValueTask.FromResult<object?>(null);
            }))!;

            Assert.That(error.Message, Does.StartWith("unauthenticated: "));
            Assert.That(ran, Is.False, "the hub method must not run");
        }

        await services.DisposeAsync();
    }

    [Test]
    public async Task T10_Filter_UnexpectedFailure_ClientSeesOnlyCodeAndRef()
    {
        var time = new FakeTimeProvider();
        var (filter, services) = CreateFilter(time);
        var context = new TestCallerContext(new ClaimsPrincipal(new ClaimsIdentity()));
        context.Items[typeof(HubsUser)] = new HubsUser("alice", "Alice", [], null);
        ConnectionInvocations.Attach(context);
        var method = typeof(RoomHub).GetMethod(nameof(RoomHub.ListRooms))!;
        using var scope = services.CreateScope();

        var error = Assert.ThrowsAsync<HubException>(async () => await filter.InvokeMethodAsync(
            new HubInvocationContext(context, scope.ServiceProvider, new NoopHub(), method, []),
            _ => throw new InvalidOperationException("secret detail at /srv/hubs/conn=redis:6379,password=hunter2")))!;

        Assert.That(error.Message, Does.Match(@"^internal: [a-z ]+ \(ref [0-9a-f]{12}\)$"));
        await services.DisposeAsync();
    }

    private static (RoomHubFilter Filter, ServiceProvider Services) CreateFilter(TimeProvider time)
    {
        var services = new ServiceCollection()
            .AddMetrics()
            .AddSingleton<HubsMetrics>()
            .AddScoped<RoomInvocation>()
            .BuildServiceProvider();
        var presence = new InMemoryPresenceTracker();
        var rooms = new InMemoryRoomStore();
        var filter = new RoomHubFilter(
            new HubArgumentRules(new LimitsOptions()),
            rooms,
            new StoreRoomViews(rooms),
            presence,
            new InvocationRateLimiter(
                Microsoft.Extensions.Options.Options.Create(new LimitsOptions()), services.GetRequiredService<HubsMetrics>(), NullLogger<InvocationRateLimiter>.Instance),
            new NodeDrain(Microsoft.Extensions.Options.Options.Create(new DrainOptions()), services.GetRequiredService<HubsMetrics>(), time, NullLogger<NodeDrain>.Instance),
            new AuditTrail(
                new InMemoryAuditStore(Microsoft.Extensions.Options.Options.Create(new AuditOptions())), services.GetRequiredService<HubsMetrics>(), time, NullLoggerFactory.Instance),
            services.GetRequiredService<HubsMetrics>(),
            time,
            NullLogger<RoomHubFilter>.Instance);
        return (filter, services);
    }

    private static object ValidArgument(ParameterInfo parameter) => parameter.ParameterType switch
    {
        var t when t == typeof(CreateRoomRequest) => new CreateRoomRequest("r1", RoomPermission.Public),
        var t when t == typeof(UpdateRoomRequest) => new UpdateRoomRequest("r1", "Room"),
        var t when t == typeof(SendMessageRequest) => new SendMessageRequest("r1", "hello"),
        var t when t == typeof(GetHistoryRequest) => new GetHistoryRequest("r1"),
        _ => parameter.Name switch
        {
            "status" => PresenceStatus.Away,
            "userId" => "bob",
            _ => "r1",
        },
    };

    private sealed class NoopHub : Hub;

    private sealed class TestCallerContext(ClaimsPrincipal user) : HubCallerContext
    {
        public override string ConnectionId => "conn-1";

        public override string? UserIdentifier => null;

        public override ClaimsPrincipal? User => user;

        public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override CancellationToken ConnectionAborted => CancellationToken.None;

        public override void Abort()
        {
        }
    }
}
