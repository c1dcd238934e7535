using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Hubs.Client;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// Acceptance 1 of the delivery guarantee: three nodes as child processes on one real Redis, 30 typed receivers
/// spread over them (each knowing all three URLs), 5 senders sending all the time, while one node is killed with
/// SIGKILL and restarted, and another is stopped with SIGTERM (drained) and restarted. At the end every receiver
/// holds exactly sequences 1..N of each room, in order, once each; every acknowledged send is among them under its
/// sequence, and every send that was not acknowledged was reported to its sender as a failure.
/// </summary>
[Category("Chaos")]
public sealed class ChaosTests
{
    private const int NodeCount = 3;
    private const int ReceiverCount = 30;
    private const int SenderCount = 5;
    private const int StepSends = 250;
    private static readonly string[] Rooms = ["chaos-a", "chaos-b", "chaos-c"];

    [Test]
    [CancelAfter(90_000)]
    public async Task KillRestartDrainRestart_EveryReceiverHoldsExactlyOneToNInOrder_UnacknowledgedSendsReportedAsFailures()
    {
        await using var redis = await RedisServer.StartAsync();
        var ports = Enumerable.Range(0, NodeCount).Select(_ => FreePort()).ToArray();
        var urls = ports.Select(p => new Uri($"http://127.0.0.1:{p}/hubs/rooms")).ToArray();
        var nodes = new ServerProcess?[NodeCount];
        await using var clients = new TestClients();
        try
        {
            await Task.WhenAll(Enumerable.Range(0, NodeCount).Select(async i => nodes[i] = await StartNodeAsync(redis, ports[i])));

            var senders = new List<HubsClient>();
            for (var s = 0; s < SenderCount; s++)
            {
                senders.Add(await clients.StartAsync(Rotated(urls, s), $"sender-{s}"));
            }

            foreach (var room in Rooms)
            {
                await senders[0].CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
            }

            var receivers = new List<Receiver>();
            for (var r = 0; r < ReceiverCount; r++)
            {
                var receiver = new Receiver(await clients.StartAsync(Rotated(urls, r), $"receiver-{r}"));
                foreach (var room in Rooms)
                {
                    await receiver.Client.JoinRoom(room);
                }

                receivers.Add(receiver);
            }

            foreach (var sender in senders)
            {
                foreach (var room in Rooms)
                {
                    await sender.JoinRoom(room);
                }
            }

            var ledger = new SendLedger();
            using var stop = new CancellationTokenSource();
            var sending = senders.Select((sender, s) => Task.Run(() => SendUntilStoppedAsync(sender, s, ledger, stop.Token))).ToArray();

            // Faults, each after the traffic has moved on by a number of sends (progress, not time).
            await ledger.ProgressAsync(StepSends);
            await nodes[0]!.KillAsync();
            Progress("kill node 0", ledger);
            await ledger.ProgressAsync(StepSends);
            nodes[0] = await StartNodeAsync(redis, ports[0]);
            Progress("restarted node 0", ledger);
            await ledger.ProgressAsync(StepSends);
            nodes[1]!.Terminate();
            var drainedExit = await nodes[1]!.ExitCodeAsync();
            Progress("node 1 drained", ledger);
            await ledger.ProgressAsync(StepSends);
            nodes[1] = await StartNodeAsync(redis, ports[1]);
            Progress("restarted node 1", ledger);
            await ledger.ProgressAsync(StepSends);

            await stop.CancelAsync();
            await Task.WhenAll(sending).Within(TimeSpan.FromSeconds(30));
            Progress("senders stopped", ledger);

            // A last message per room: a message stored by the killed node but never broadcast is found by gap repair.
            var last = new Dictionary<string, long>();
            foreach (var room in Rooms)
            {
                last[room] = (await senders[0].SendMessage(new SendMessageRequest(room, "fence", $"fence-{room}"))).Sequence;
            }

            await Await.UntilAsync(
                () => receivers.All(r => Rooms.All(room => r.LastSequence(room) == last[room])),
                "every receiver caught up with every room",
                TimeSpan.FromSeconds(20));

            var stored = receivers[0].Messages;
            Assert.Multiple(() =>
            {
                Assert.That(drainedExit, Is.EqualTo(0), "the drained node exits 0");
                foreach (var receiver in receivers)
                {
                    foreach (var room in Rooms)
                    {
                        Assert.That(
                            receiver.Sequences(room),
                            Is.EqualTo(Enumerable.Range(1, (int)last[room]).Select(i => (long)i)),
                            $"{receiver.Client.ConnectedUrl} {room}: exactly 1..N, in order, once each");
                    }

                    Assert.That(receiver.Client.State, Is.EqualTo(HubsConnectionState.Connected));
                    Assert.That(receiver.Client.JoinedRooms, Is.EquivalentTo(Rooms));
                }

                // Same content at every receiver: the same message under each sequence.
                Assert.That(receivers.Select(r => r.Fingerprint()).Distinct().Count(), Is.EqualTo(1), "all receivers hold the same messages");

                var byId = stored.Where(m => m.ClientMessageId is not null).GroupBy(m => m.ClientMessageId!).ToArray();
                Assert.That(byId.Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, "no send was stored twice");
                var storedIds = byId.ToDictionary(g => g.Key, g => g.Single());
                foreach (var (id, ack) in ledger.Acknowledged)
                {
                    Assert.That(storedIds.TryGetValue(id, out var message) ? (message.RoomId, message.Sequence) : default,
                        Is.EqualTo((ack.RoomId, ack.Sequence)), $"acknowledged send {id} is stored under its sequence");
                }

                var unaccounted = storedIds.Keys.Where(id => !id.StartsWith("fence-", StringComparison.Ordinal)
                    && !ledger.Acknowledged.ContainsKey(id) && !ledger.Failed.ContainsKey(id)).ToArray();
                Assert.That(unaccounted, Is.Empty, "every stored send was acknowledged or reported failed to its sender");
                Assert.That(ledger.Acknowledged.Count + ledger.Failed.Count, Is.EqualTo(ledger.Attempted), "every send ended one way or the other");
                Assert.That(ledger.Acknowledged.Count, Is.GreaterThan(StepSends * 5));
            });
            TestContext.Out.WriteLine($"sends: {ledger.Attempted}, acknowledged {ledger.Acknowledged.Count}, failed {ledger.Failed.Count}; " +
                $"stored {stored.Count}; reconnects seen by receivers: {receivers.Sum(r => r.Reconnects)}");
        }
        finally
        {
            TestContext.Progress.WriteLine("chaos: disposing");
            await clients.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
            foreach (var node in nodes)
            {
                if (node is not null)
                {
                    await node.DisposeAsync();
                }
            }
        }
    }

    private static void Progress(string step, SendLedger ledger) =>
        TestContext.Progress.WriteLine($"chaos: {step}; acknowledged {ledger.Acknowledged.Count}, failed {ledger.Failed.Count}");

    private static async Task SendUntilStoppedAsync(HubsClient sender, int index, SendLedger ledger, CancellationToken stop)
    {
        for (var n = 0; !stop.IsCancellationRequested; n++)
        {
            var room = Rooms[n % Rooms.Length];
            var id = $"s{index}-{n}";
            ledger.Attempt();
            try
            {
                var result = await sender.SendMessage(new SendMessageRequest(room, $"message {n} of sender {index}", id));
                ledger.Acknowledged[id] = result;
            }
            catch (HubsException error)
            {
                ledger.Failed[id] = error.Code;
            }

            try
            {
                await Task.Delay(10, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<ServerProcess> StartNodeAsync(RedisServer redis, int port)
    {
        var node = ServerProcess.Start("Development", new Dictionary<string, string>
        {
            ["Redis__Configuration"] = redis.Configuration,
            ["Auth__SigningKey"] = TestTokens.SigningKey,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
            ["Hubs__Drain__PeriodSeconds"] = "3",
            ["Hubs__Presence__TimeoutSeconds"] = "10",

            // All clients of this test come from 127.0.0.1 and send faster than a person.
            ["Hubs__Limits__ConnectsPerMinutePerAddress"] = "100000",
            ["Hubs__Limits__MessagesPerSecondPerUserPerRoom"] = "1000",
            ["Hubs__Limits__InvocationsPerSecondPerConnection"] = "1000",
        }, port);
        await node.ListeningAsync();
        return node;
    }

    private static Uri[] Rotated(Uri[] urls, int start) => [.. urls.Skip(start % urls.Length), .. urls.Take(start % urls.Length)];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class SendLedger
    {
        private int _attempted;

        public ConcurrentDictionary<string, SendMessageResult> Acknowledged { get; } = new();

        public ConcurrentDictionary<string, string> Failed { get; } = new();

        public int Attempted => Volatile.Read(ref _attempted);

        public void Attempt() => Interlocked.Increment(ref _attempted);

        /// <summary>Waits until <paramref name="count"/> more sends were acknowledged.</summary>
        public Task ProgressAsync(int count)
        {
            var target = Acknowledged.Count + count;
            return Await.UntilAsync(() => Acknowledged.Count >= target, $"{count} more sends were acknowledged", TimeSpan.FromSeconds(20));
        }
    }

    private sealed class Receiver
    {
        private readonly ConcurrentQueue<RoomMessage> _messages = new();
        private readonly ConcurrentDictionary<string, long> _last = new();
        private int _reconnects;

        public Receiver(HubsClient client)
        {
            Client = client;
            client.OnMessageReceived(message =>
            {
                _messages.Enqueue(message);
                _last[message.RoomId] = message.Sequence;
            });
            client.StateChanged += (_, e) =>
            {
                if (e.Current == HubsConnectionState.Reconnecting)
                {
                    Interlocked.Increment(ref _reconnects);
                }
            };
        }

        public HubsClient Client { get; }

        public int Reconnects => Volatile.Read(ref _reconnects);

        public IReadOnlyList<RoomMessage> Messages => [.. _messages];

        public long LastSequence(string room) => _last.GetValueOrDefault(room);

        public IEnumerable<long> Sequences(string room) => _messages.Where(m => m.RoomId == room).Select(m => m.Sequence);

        public string Fingerprint() => string.Join(
            ";",
            _messages.OrderBy(m => m.RoomId, StringComparer.Ordinal).ThenBy(m => m.Sequence).Select(m => $"{m.RoomId}/{m.Sequence}/{m.ClientMessageId}"));
    }
}
