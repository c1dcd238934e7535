using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration;

/// <summary>The <c>Hubs</c> meter reports connections, invocations by outcome, deliveries and denials.</summary>
public sealed class TelemetryTests : ServerFixture
{
    [Test]
    public async Task Invocations_OkAndRefused_RecordedByMethodOutcomeAndDeliveries()
    {
        var recorded = new ConcurrentQueue<(string Instrument, long Value, string Tags)>();
        var factory = Server.Services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Hubs" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            recorded.Enqueue((instrument.Name, value, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")))));
        listener.Start();

        var room = NewRoomId();
        var alice = await ConnectAsync("alice");
        var bob = await ConnectAsync("bob");
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Private));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "metered"));
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.NotFound);

        var all = recorded.ToArray();
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
