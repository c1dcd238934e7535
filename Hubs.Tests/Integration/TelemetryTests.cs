using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration;

/// <summary>The <c>Hubs</c> meter reports connections, invocations by outcome, deliveries and denials.</summary>
public sealed class TelemetryTests : ServerFixture
{
    [Test]
    public async Task Invocations_OkAndRefused_RecordedByMethodOutcomeAndDeliveries()
    {
        using var metrics = new MetricsRecorder(Server);

        var room = NewRoomId();
        var alice = await ConnectAsync("alice");
        var bob = await ConnectAsync("bob");
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Private));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "metered"));
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.NotFound);

        var all = metrics.All;
        Assert.Multiple(() =>
        {
            Assert.That(all, Has.Some.EqualTo(("hubs.connections", 1L, "")));
            Assert.That(all, Has.Some.EqualTo(("hubs.invocations", 1L, "method=SendMessage,outcome=ok")));
            Assert.That(all, Has.Some.EqualTo(("hubs.invocations", 1L, "method=JoinRoom,outcome=not_found")));
            Assert.That(all, Has.Some.EqualTo(("hubs.messages.delivered", 1L, "")));
            Assert.That(all, Has.Some.EqualTo(("hubs.authorization.denials", 1L, "code=not_found")));
        });
    }
}
