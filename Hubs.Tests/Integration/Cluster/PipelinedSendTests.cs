using Hubs.Contracts;
using Hubs.Server.Rooms;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// A connection's calls with <c>Hubs:Limits:ParallelInvocationsPerConnection</c> above 1, across two nodes on a real
/// redis-server: its sends overlap (several appends in flight at once) yet are stored and delivered in the order they
/// arrived; its other calls still run one at a time, so racing joins and leaves cannot leave it in a room's group.
/// </summary>
public sealed class PipelinedSendTests : ClusterFixture
{
    private const int Sends = 200;

    protected override int NodeCount => 2;

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Decorate<IRoomMessageLog>(inner => new OverlapCountingLog(inner));

    [Test]
    public async Task PipelinedSendsOfOneConnection_OverlapAndAreStoredAndDeliveredInArrivalOrder()
    {
        var room = NewRoomId();
        var sender = await ConnectAsync(0, "piper");
        var near = await ConnectAsync(0, "nora");
        var far = await ConnectAsync(1, "fred");
        await sender.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        var nearSeen = new EventRecorder<RoomMessage>(near, nameof(IRoomClient.MessageReceived));
        var farSeen = new EventRecorder<RoomMessage>(far, nameof(IRoomClient.MessageReceived));
        foreach (var connection in new[] { sender, near, far })
        {
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        var overlap = (OverlapCountingLog)Nodes[0].Services.GetRequiredService<IRoomMessageLog>();
        overlap.HoldFirstUntilASecondArrives();

        // All sent before any is answered: the client writes them one after another on the one connection.
        var acks = Enumerable.Range(0, Sends)
            .Select(i => sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"m{i}")))
            .ToArray();
        var results = await Task.WhenAll(acks).WaitAsync(TimeSpan.FromSeconds(20));
        await nearSeen.WaitAsync(m => m.Sequence == Sends);
        await farSeen.WaitAsync(m => m.Sequence == Sends);

        var expected = Enumerable.Range(1, Sends).Select(i => (long)i).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(overlap.MostInFlight, Is.GreaterThan(1), "a second send was appended while the first was held");
            Assert.That(results.Select(r => r.Sequence), Is.EqualTo(expected), "stored in the order they were sent");
            Assert.That(nearSeen.Items.Select(m => m.Sequence), Is.EqualTo(expected), "delivered in order on the sender's node");
            Assert.That(farSeen.Items.Select(m => m.Sequence), Is.EqualTo(expected), "delivered in order on the other node");
            Assert.That(farSeen.Items.Select(m => m.Text), Is.EqualTo(Enumerable.Range(0, Sends).Select(i => $"m{i}")));
        });
    }

    [Test]
    public async Task PipelinedJoinsAndLeaves_EndOutOfTheRoom_AndReceiveNothingMore()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(1, "olga");
        var racer = await ConnectAsync(0, "ravi");
        var watcher = await ConnectAsync(0, "wanda");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var watched = new EventRecorder<RoomMessage>(watcher, nameof(IRoomClient.MessageReceived));
        var received = new EventRecorder<RoomMessage>(racer, nameof(IRoomClient.MessageReceived));

        // Join, leave, join, leave, … sent without waiting, ending with a leave.
        var calls = new List<Task>();
        for (var i = 0; i < 20; i++)
        {
            calls.Add(racer.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room));
            calls.Add(racer.InvokeAsync(nameof(IRoomHub.LeaveRoom), room));
        }

        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(20));
        var sent = await owner.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "after"));

        // A member on the racer's node has it, so the racer would have it too by the answer to its next call.
        await watched.WaitAsync(m => m.Sequence == sent.Sequence);
        var members = await owner.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        var error = Assert.ThrowsAsync<HubException>(() => racer.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room)));
        Assert.Multiple(() =>
        {
            Assert.That(members.Select(m => m.UserId), Is.EqualTo(new[] { "olga", "wanda" }));
            Assert.That(error!.Message, Does.StartWith("forbidden: "), "the racer is not in the room");
            Assert.That(received.Items.Select(m => m.Sequence), Does.Not.Contain(sent.Sequence), "nothing reaches a connection that left");
        });
    }

    [Test]
    public async Task JoinSendsAndLeavePipelined_EachSeesTheOnesBefore_AsIfOneAtATime()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(1, "olga");
        var member = await ConnectAsync(0, "mona");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        for (var round = 0; round < 10; round++)
        {
            // Sent without waiting: the sends must find the join done, the leave must find the sends stored.
            var join = member.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
            var first = member.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"r{round} a"));
            var second = member.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"r{round} b"));
            var leave = member.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
            await Task.WhenAll(join, first, second, leave).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.That((await second).Sequence, Is.EqualTo((await first).Sequence + 1), $"round {round}: stored in order");
        }

        var history = await owner.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room));
        var members = await owner.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        Assert.Multiple(() =>
        {
            Assert.That(history.Select(m => m.Text), Is.EqualTo(Enumerable.Range(0, 10).SelectMany(r => new[] { $"r{r} a", $"r{r} b" })));
            Assert.That(members.Select(m => m.UserId), Is.EqualTo(new[] { "olga" }), "the last call, a leave, ran last");
        });
    }

    /// <summary>
    /// Counts the appends in flight at once. Armed, it holds back the answer to the first append until a second one
    /// starts (or 5 s pass): with one call at a time per connection, no second send could start meanwhile, and the
    /// sends behind the held one must still be broadcast after it.
    /// </summary>
    private sealed class OverlapCountingLog(IRoomMessageLog inner) : DelegatingRoomMessageLog(inner)
    {
        private int _inFlight;
        private int _most;
        private TaskCompletionSource? _second;

        public int MostInFlight => Volatile.Read(ref _most);

        public void HoldFirstUntilASecondArrives()
        {
            Volatile.Write(ref _most, 0);
            Volatile.Write(ref _second, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }

        public override async Task<AppendResult> AppendAsync(string roomId, MessageDraft draft, string? admitConnectionId, CancellationToken cancellationToken)
        {
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref _most)) && Interlocked.CompareExchange(ref _most, now, seen) != seen)
            {
            }

            try
            {
                // Issued at once, in arrival order; only the answer to the first is held back.
                var append = Inner.AppendAsync(roomId, draft, admitConnectionId, cancellationToken);
                if (Volatile.Read(ref _second) is { } second)
                {
                    if (now == 1)
                    {
                        await second.Task.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
                    }
                    else
                    {
                        second.TrySetResult();
                        Volatile.Write(ref _second, null);
                    }
                }

                return await append;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }
}
