using Hubs.Contracts;
using Hubs.Server.Lifecycle;
using Hubs.Server.Presence;
using Hubs.Server.Rooms;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Integration;

/// <summary>
/// The acknowledgement of <c>SendMessage</c> means the message is stored: once it is, nothing that fails afterwards
/// (the broadcast, the delivery count) turns into an error for the sender; the failure is logged with ids only, and
/// members find the message by the gap in the sequence.
/// </summary>
public sealed class StoredAcknowledgementTests : ServerFixture
{
    private const string NotBroadcastId = "never-broadcast";
    private const string UncountedRoom = "uncounted-room";

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<HubLifetimeManager<RoomHub>>(sp =>
            new FailingBroadcasts(ActivatorUtilities.CreateInstance<DefaultHubLifetimeManager<RoomHub>>(sp)));
        services.Decorate<IPresenceTracker>(inner => FailingCalls<IPresenceTracker>.Wrap(inner,
            (method, args) => method.Name == nameof(IPresenceTracker.CountConnectionsAsync) && Equals(args[0], UncountedRoom)));
    }

    [Test]
    public async Task BroadcastFailsAfterStoring_SenderGetsItsSequence_MembersRecoverItFromTheGap()
    {
        var (room, alice, bobMessages, bob) = await RoomOfTwoAsync(NewRoomId());

        var stored = await SendAsync(alice, room, "stored yet never broadcast", NotBroadcastId);
        var next = await SendAsync(alice, room, "broadcast as always", null);
        await bobMessages.WaitAsync(m => m.Sequence == next.Sequence);
        var history = await bob.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room, AfterSequence: 0));

        Assert.Multiple(() =>
        {
            Assert.That((stored.Sequence, next.Sequence), Is.EqualTo((1L, 2L)), "acknowledged with its sequence");
            Assert.That(bobMessages.Items.Select(m => m.Sequence), Is.EqualTo(new[] { 2L }), "the member sees a gap before 2");
            Assert.That(history.Select(m => (m.Sequence, m.Text)),
                Is.EqualTo(new[] { (1L, "stored yet never broadcast"), (2L, "broadcast as always") }), "and finds 1 in history");
            AssertWarnedWithIdsOnly($"Room {room}: message 1 is stored but its broadcast failed", "stored yet never broadcast");
        });
    }

    [Test]
    public async Task DeliveryCountFailsAfterBroadcast_SenderGetsItsSequence()
    {
        var (room, alice, bobMessages, _) = await RoomOfTwoAsync(UncountedRoom);

        var stored = await SendAsync(alice, room, "delivered but not counted", null);
        var delivered = await bobMessages.WaitAsync(m => m.Sequence == stored.Sequence);

        Assert.Multiple(() =>
        {
            Assert.That(stored.Sequence, Is.EqualTo(1));
            Assert.That(delivered.Text, Is.EqualTo("delivered but not counted"));
            AssertWarnedWithIdsOnly($"Room {room}: message 1 was delivered but could not be counted", "delivered but not counted");
        });
    }

    private void AssertWarnedWithIdsOnly(string start, string text)
    {
        var warnings = Server.Logs.Lines.Where(l => l.Category == typeof(RoomMessagePublisher).FullName && l.Level == LogLevel.Warning).ToArray();
        Assert.That(warnings.Select(w => w.Message), Has.One.StartsWith(start));
        Assert.That(warnings.Select(w => w.ToString()), Has.None.Contains(text), "no message text in the log");
    }

    private async Task<(string Room, HubConnection Alice, EventRecorder<RoomMessage> BobMessages, HubConnection Bob)> RoomOfTwoAsync(string room)
    {
        var alice = await ConnectAsync("alice");
        var bob = await ConnectAsync("bob");
        var bobMessages = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        return (room, alice, bobMessages, bob);
    }

    private static Task<SendMessageResult> SendAsync(HubConnection connection, string room, string text, string? clientMessageId) =>
        connection.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, text, clientMessageId));

    /// <summary>SignalR's own lifetime manager, except that it fails to broadcast messages sent with <see cref="NotBroadcastId"/>.</summary>
    private sealed class FailingBroadcasts(HubLifetimeManager<RoomHub> inner) : DelegatingHubLifetimeManager<RoomHub>(inner)
    {
        public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
            args is [RoomMessage { ClientMessageId: NotBroadcastId }]
                ? throw new InvalidOperationException("Injected failure of the broadcast.")
                : base.SendGroupAsync(groupName, methodName, args, cancellationToken);
    }
}
