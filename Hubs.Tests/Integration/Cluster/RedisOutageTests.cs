using System.Diagnostics;
using System.Net;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>T25: Redis goes away and comes back; nodes stay up, refuse fast, lose nothing acknowledged, and recover.</summary>
public sealed class RedisOutageTests : ClusterFixture
{
    protected override int NodeCount => 2;

    [Test]
    public async Task T25_RedisStopsAndRestarts_CallsUnavailableFastReadyFlipsNothingAcknowledgedLostThenRecovers()
    {
        ExpectErrorLogs(); // The SignalR backplane logs the lost Redis connection as an error: it is one.
        var room = NewRoomId();
        var alice = await ConnectAsync(0, "alice");
        var bob = await ConnectAsync(1, "bob");
        var bobMessages = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        for (var i = 1; i <= 5; i++)
        {
            await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"kept {i}"));
        }

        await Redis.StopAsync();

        var clock = Stopwatch.StartNew();
        var refusal = await HubAssert.RefusedAsync(
            () => alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "during outage")), ErrorCodes.Unavailable);
        var refusedAfter = clock.Elapsed;
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room), ErrorCodes.Unavailable);
        using var http = new HttpClient();
        await Await.UntilAsync(async () => (await http.GetAsync(new Uri(Nodes[0].BaseAddress, HubRoutes.Ready))).StatusCode == HttpStatusCode.ServiceUnavailable,
            "readiness answers 503");
        var live = await http.GetAsync(new Uri(Nodes[0].BaseAddress, HubRoutes.Live));

        await Redis.RunAsync();
        foreach (var node in Nodes)
        {
            await Await.UntilAsync(async () => (await http.GetAsync(new Uri(node.BaseAddress, HubRoutes.Ready))).StatusCode == HttpStatusCode.OK,
                "readiness recovers on every node", TimeSpan.FromSeconds(15));
        }

        SendMessageResult? resumed = null;
        await Await.UntilAsync(async () =>
        {
            try
            {
                resumed = await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "after outage"));
                return true;
            }
            catch (HubException error) when (error.Message.StartsWith(ErrorCodes.Unavailable, StringComparison.Ordinal))
            {
                return false;
            }
        }, "sending works again", TimeSpan.FromSeconds(15));
        var delivered = await bobMessages.WaitAsync(m => m.Text == "after outage", TimeSpan.FromSeconds(15));
        var history = await bob.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room, 0));

        Assert.Multiple(() =>
        {
            Assert.That(refusedAfter, Is.LessThan(TimeSpan.FromSeconds(2)), "refused within 2 s, no hang");
            Assert.That(refusal, Does.Not.Contain("Redis").And.Not.Contain("127.0.0.1"), "nothing about the infrastructure leaks");
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the process stays up");
            Assert.That(resumed!.Sequence, Is.EqualTo(6), "the refused message was not stored");
            Assert.That(delivered.Sequence, Is.EqualTo(6), "delivery across nodes resumes");
            Assert.That(history.Select(m => m.Text), Is.EqualTo(new[] { "kept 1", "kept 2", "kept 3", "kept 4", "kept 5", "after outage" }),
                "every acknowledged message survived");
            Assert.That(Nodes[0].Logs.Lines.Where(l => l.Category.EndsWith("RedisGateway")).Select(l => l.Message),
                Has.Some.Match(@"^Redis message\.append failed: "), "the failure is logged with its operation");
        });
    }
}
