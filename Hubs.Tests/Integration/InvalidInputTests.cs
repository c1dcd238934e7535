using System.Text.Json;
using Hubs.Contracts;
using Hubs.Server.Rooms;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Hubs.Tests.Integration;

/// <summary>T12, T10: bad input is refused with invalid_argument and changes nothing; failures leak nothing.</summary>
public sealed class InvalidInputTests : ServerFixture
{
    private const string PoisonRoom = "poison-room";
    private HubConnection _alice = null!;
    private HubConnection _watcher = null!;
    private EventRecorder<RoomMessage> _watcherMessages = null!;
    private string _room = null!;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Hubs:Limits:MaxTextLength"] = "100" };

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Decorate<IRoomMessageLog>(inner => new FailingMessageLog(inner));

    protected override async Task OnServerStartedAsync()
    {
        _alice = await Server.ConnectAsync("alice");
        _watcher = await Server.ConnectAsync("walter");
        _watcherMessages = new EventRecorder<RoomMessage>(_watcher, nameof(IRoomClient.MessageReceived));
        _room = NewRoomId("valid");
        await _alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(_room, RoomPermission.Public));
        await _alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), _room);
        await _watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), _room);
    }

    [OneTimeTearDown]
    public async Task CloseFixtureConnections()
    {
        await _alice.DisposeAsync();
        await _watcher.DisposeAsync();
    }

    private static IEnumerable<TestCaseData> BadCalls()
    {
        TestCaseData Case(string name, string method, Func<string, object?[]> args) => new TestCaseData(method, args).SetName($"T12_Invoke_{name}_InvalidArgument");
        yield return Case("SendNullRequest", nameof(IRoomHub.SendMessage), _ => [null]);
        yield return Case("SendMissingText", nameof(IRoomHub.SendMessage), room => [new { roomId = room }]);
        yield return Case("SendTextWrongType", nameof(IRoomHub.SendMessage), room => [new { roomId = room, text = 42 }]);
        yield return Case("SendTextTooLong", nameof(IRoomHub.SendMessage), room => [new SendMessageRequest(room, new string('a', 101))]);
        yield return Case("SendControlCharacters", nameof(IRoomHub.SendMessage), room => [new SendMessageRequest(room, "evil\u001b[2J")]);
        yield return Case("SendBadRoomId", nameof(IRoomHub.SendMessage), _ => [new SendMessageRequest("../etc/passwd", "x")]);
        yield return Case("SendStringInsteadOfObject", nameof(IRoomHub.SendMessage), room => [room]);
        yield return Case("JoinRoomIdNumber", nameof(IRoomHub.JoinRoom), _ => [12345]);
        yield return Case("JoinNull", nameof(IRoomHub.JoinRoom), _ => [null]);
        yield return Case("JoinTooManyArguments", nameof(IRoomHub.JoinRoom), room => [room, "extra"]);
        yield return Case("JoinTooFewArguments", nameof(IRoomHub.JoinRoom), _ => []);
        yield return Case("CreateUnknownPermission", nameof(IRoomHub.CreateRoom), _ => [new { roomId = "new-room-1", permission = "EVERYONE" }]);
        yield return Case("CreatePermissionNumber", nameof(IRoomHub.CreateRoom), _ => [new { roomId = "new-room-2", permission = 3 }]);
        yield return Case("CreateMissingPermission", nameof(IRoomHub.CreateRoom), _ => [new { roomId = "new-room-3" }]);
        yield return Case("CreateMaxMembersZero", nameof(IRoomHub.CreateRoom), _ => [new CreateRoomRequest("new-room-4", RoomPermission.Public, MaxMembers: 0)]);
        yield return Case("CreateBadDisplayName", nameof(IRoomHub.CreateRoom), _ => [new CreateRoomRequest("new-room-5", RoomPermission.Public, "line\nbreak")]);
        yield return Case("CreateBadRoomId", nameof(IRoomHub.CreateRoom), _ => [new CreateRoomRequest("-starts-with-dash", RoomPermission.Public)]);
        yield return Case("UpdateUnknownPermission", nameof(IRoomHub.UpdateRoom), room => [new { roomId = room, permission = "nobody" }]);
        yield return Case("UpdateMaxMembersNegative", nameof(IRoomHub.UpdateRoom), room => [new UpdateRoomRequest(room, MaxMembers: -1)]);
        yield return Case("HistoryLimitZero", nameof(IRoomHub.GetHistory), room => [new GetHistoryRequest(room, Limit: 0)]);
        yield return Case("HistoryLimitTooLarge", nameof(IRoomHub.GetHistory), room => [new GetHistoryRequest(room, Limit: 201)]);
        yield return Case("StatusUnknown", nameof(IRoomHub.SetStatus), _ => ["invisible"]);
        yield return Case("InviteControlCharacterUser", nameof(IRoomHub.InviteUser), room => [room, "bob\u0000"]);
    }

    [TestCaseSource(nameof(BadCalls))]
    public async Task Invoke_BadArguments_InvalidArgumentAndNothingChanges(string method, Func<string, object?[]> arguments)
    {
        var roomsBefore = await RoomSnapshotAsync();

        var message = await HubAssert.RefusedAsync(() => _alice.InvokeCoreAsync<object?>(method, arguments(_room)), ErrorCodes.InvalidArgument);

        Assert.That(message, Does.Not.Contain("Exception").And.Not.Contain("   at "));
        Assert.That(await RoomSnapshotAsync(), Is.EqualTo(roomsBefore), "nothing stored");
        await AssertHealthyAndNothingBroadcastAsync();
    }

    [Test]
    public async Task T12_Invoke_UnknownMethod_CleanErrorAndConnectionHealthy()
    {
        var message = await HubAssert.RefusedAsync(() => _alice.InvokeCoreAsync<object?>("DropAllTables", []), ErrorCodes.InvalidArgument);

        Assert.That(message, Does.StartWith("invalid_argument: unknown method"));
        await AssertHealthyAndNothingBroadcastAsync();
    }

    [Test]
    public async Task T10_Invoke_InternalFailure_ClientSeesOnlyCodeTextAndRefWhichTheServerLogHolds()
    {
        ExpectErrorLogs();
        await _alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(PoisonRoom, RoomPermission.Public));
        await _alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), PoisonRoom);

        var message = await HubAssert.RefusedAsync(
            () => _alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(PoisonRoom, "boom")), ErrorCodes.Internal);

        var refId = message[(message.LastIndexOf("(ref ", StringComparison.Ordinal) + 5)..^1];
        Assert.Multiple(() =>
        {
            Assert.That(message, Does.Not.Contain(FailingMessageLog.Secret).And.Not.Contain("Exception").And.Not.Contain("/"));
            var logged = Server.Logs.Lines.Single(l => l.Message.Contains(refId));
            Assert.That(logged.Exception, Does.Contain(FailingMessageLog.Secret), "details stay in the server log under the ref id");
        });
    }

    private async Task<string> RoomSnapshotAsync()
    {
        var rooms = await _alice.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
        var history = await _alice.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(_room));
        return JsonSerializer.Serialize(new { rooms, history });
    }

    private async Task AssertHealthyAndNothingBroadcastAsync()
    {
        // The watcher answers a call, so everything broadcast before has reached it.
        var members = await _watcher.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), _room);
        Assert.That(members, Has.Count.EqualTo(2), "connections stay up");
        Assert.That(_watcherMessages.Items, Is.Empty, "nothing broadcast");
        Assert.That(_alice.State, Is.EqualTo(HubConnectionState.Connected));
    }

    /// <summary>Fails appends to one room with an exception carrying details a client must never see.</summary>
    private sealed class FailingMessageLog(IRoomMessageLog inner) : DelegatingRoomMessageLog(inner)
    {
        public const string Secret = "redis-secret.internal:6379,password=hunter2";

        public override Task<AppendResult> AppendAsync(string roomId, MessageDraft draft, string? admitConnectionId, CancellationToken cancellationToken) =>
            roomId == PoisonRoom
                ? throw new InvalidOperationException($"Connection to {Secret} failed at /srv/hubs/RoomLog.cs:42")
                : Inner.AppendAsync(roomId, draft, admitConnectionId, cancellationToken);
    }
}

internal static class ServiceCollectionTestExtensions
{
    /// <summary>Wraps the registered singleton of <typeparamref name="T"/>.</summary>
    public static IServiceCollection Decorate<T>(this IServiceCollection services, Func<T, T> decorate)
        where T : class
    {
        var original = services.Single(d => d.ServiceType == typeof(T));
        var create = original.ImplementationFactory ?? (sp => ActivatorUtilities.CreateInstance(sp, original.ImplementationType!));
        services.Replace(ServiceDescriptor.Singleton<T>(sp => decorate((T)create(sp))));
        return services;
    }
}
