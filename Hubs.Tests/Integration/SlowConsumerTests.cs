using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Integration;

/// <summary>
/// T21: a client that stops reading never delays the others; it is held for a bounded time and bytes, then dropped
/// with the reason logged and counted. A client that only stalls for a moment catches up without losing anything.
/// </summary>
public sealed class SlowConsumerTests : ServerFixture
{
    internal const int OutboundBufferBytes = 64 * 1024;
    internal const int TimeoutSeconds = 4;
    internal const string Behind = "hubs.connections.behind";
    internal const string Drops = "hubs.connections.slow_consumer_drops";

    // Large messages fill the slow reader's buffers quickly; about 3.9 KB on the wire each.
    internal static readonly string Bulk = new('b', 3800);

    private readonly List<RawHubSocket> _raw = [];

    internal static readonly Dictionary<string, string?> Limits = new()
    {
        ["Hubs:Limits:OutboundBufferBytes"] = OutboundBufferBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Hubs:Limits:SlowConsumerTimeoutSeconds"] = TimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    protected override IDictionary<string, string?> Settings => Limits;

    [TearDown]
    public async Task CloseRawSocketsAsync()
    {
        foreach (var raw in _raw)
        {
            await raw.DisposeAsync();
        }

        _raw.Clear();
    }

    [Test]
    public async Task T21_StoppedReader_OthersKeepSendingAndReceiving_ThenDroppedAfterTimeoutWithReasonLoggedAndCounted()
    {
        using var metrics = new MetricsRecorder(Server);
        var (room, sender, fast, slow) = await RoomWithSlowReaderAsync();
        var received = new EventRecorder<RoomMessage>(fast, nameof(IRoomClient.MessageReceived));
        var left = new EventRecorder<UserPresenceEvent>(fast, nameof(IRoomClient.UserLeft));

        var acknowledged = await SendUntilBehindAsync(sender, room, metrics);

        // The slow reader is behind and still connected: the others go on at full speed. Without the guard each of
        // these sends would wait for the slow reader's socket.
        for (var i = 0; i < 20; i++)
        {
            acknowledged.Add((await sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"while-behind {i}"))).Sequence);
        }

        var membersWhileBehind = await fast.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        await received.WaitAsync(m => m.Sequence == acknowledged[^1]);
        var dropsWhileBehind = metrics.Sum(Drops);

        // Nothing more is sent: the slow reader stays behind, and is dropped once the bound has passed.
        var gone = await left.WaitAsync(e => e.UserId == "slow", TimeSpan.FromSeconds(TimeoutSeconds + 10));
        await slow.ReceiveUntilClosedAsync();

        Assert.Multiple(() =>
        {
            Assert.That(membersWhileBehind.Select(m => m.UserId), Does.Contain("slow"), "still a member while behind");
            Assert.That(dropsWhileBehind, Is.Zero, "not dropped before the bound");
            Assert.That(received.Items.Select(m => m.Sequence), Is.EqualTo(acknowledged), "the fast reader got every message, in order");
            Assert.That(gone.RoomId, Is.EqualTo(room));
            Assert.That(metrics.Sum(Drops, "reason=timeout"), Is.EqualTo(1));
            Assert.That(metrics.Sum(Behind), Is.Zero, "no connection is left counted as behind");
            Assert.That(
                Server.Logs.Lines.Where(l => l.Level == LogLevel.Warning && l.Message.StartsWith("Dropped slow consumer", StringComparison.Ordinal)).Select(l => l.Message),
                Has.One.Contains("(timeout)"));
        });
    }

    [Test]
    public async Task T21_StoppedReader_FloodContinues_DroppedOnceItWouldHoldMoreThanTheBound()
    {
        using var metrics = new MetricsRecorder(Server);
        var (room, sender, fast, slow) = await RoomWithSlowReaderAsync();
        var received = new EventRecorder<RoomMessage>(fast, nameof(IRoomClient.MessageReceived));
        var left = new EventRecorder<UserPresenceEvent>(fast, nameof(IRoomClient.UserLeft));

        var acknowledged = await SendUntilBehindAsync(sender, room, metrics);

        // Every further large message is held for the slow reader until the held bytes pass the buffer size again.
        var further = (OutboundBufferBytes / Bulk.Length) + 5;
        for (var i = 0; i < further; i++)
        {
            acknowledged.Add((await sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, Bulk))).Sequence);
        }

        var gone = await left.WaitAsync(e => e.UserId == "slow");
        await received.WaitAsync(m => m.Sequence == acknowledged[^1]);
        await slow.ReceiveUntilClosedAsync();

        Assert.Multiple(() =>
        {
            Assert.That(gone.RoomId, Is.EqualTo(room));
            Assert.That(metrics.Sum(Drops, "reason=buffer"), Is.EqualTo(1), "dropped by bytes, well before the time bound");
            Assert.That(metrics.Sum(Drops, "reason=timeout"), Is.Zero);
            Assert.That(received.Items.Select(m => m.Sequence), Is.EqualTo(acknowledged), "the fast reader got every message, in order");
        });
    }

    [Test]
    public async Task T21_ReaderStallsThenResumes_NotDropped_ReceivesEveryMessageInOrder()
    {
        using var metrics = new MetricsRecorder(Server);
        var (room, sender, _, slow) = await RoomWithSlowReaderAsync();

        var acknowledged = await SendUntilBehindAsync(sender, room, metrics);
        for (var i = 0; i < 5; i++)
        {
            acknowledged.Add((await sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"held {i}"))).Sequence);
        }

        // The reader wakes up well within the bound and reads everything: what was held is released, in order.
        var sequences = new List<long>();
        while (sequences.Count == 0 || sequences[^1] < acknowledged[^1])
        {
            var text = await slow.ReceiveTextAsync();
            Assert.That(text, Is.Not.Empty, "the connection stays open");
            sequences.AddRange(MessageSequences(text));
        }

        acknowledged.Add((await sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "after"))).Sequence);
        while (sequences[^1] < acknowledged[^1])
        {
            sequences.AddRange(MessageSequences(await slow.ReceiveTextAsync()));
        }

        await Await.UntilAsync(() => metrics.Sum(Behind) == 0, "the reader no longer counts as behind");
        Assert.Multiple(() =>
        {
            Assert.That(sequences, Is.EqualTo(acknowledged), "every message exactly once and in order");
            Assert.That(metrics.Sum(Drops), Is.Zero);
        });
    }

    /// <summary>A public room with a sender, a fast reader (SignalR client) and a slow reader.</summary>
    private async Task<(string Room, HubConnection Sender, HubConnection Fast, RawHubSocket Slow)> RoomWithSlowReaderAsync()
    {
        var room = NewRoomId();
        var sender = await ConnectAsync("sender");
        var fast = await ConnectAsync("fast");
        await sender.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await sender.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await fast.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        var slow = await JoinSlowReaderAsync(Server.HubUrl, room);
        _raw.Add(slow);
        return (room, sender, fast, slow);
    }

    /// <summary>
    /// A raw WebSocket member of <paramref name="room"/> with a tiny kernel receive buffer that, once joined, keeps
    /// pinging but reads nothing until the test says so.
    /// </summary>
    internal static async Task<RawHubSocket> JoinSlowReaderAsync(Uri hubUrl, string room)
    {
        var slow = await RawHubSocket.ConnectAsync(hubUrl, TestTokens.For("slow"), receiveBufferBytes: 4096);
        await slow.InvokeAsync(nameof(IRoomHub.JoinRoom), room);
        Assert.That(await slow.ReceiveCompletionAsync(), Does.Contain("\"result\""), "the slow reader joined");

        // Alive, only not reading: it pings like any client (a silent one would be closed by the client timeout).
        slow.StartPinging(TimeSpan.FromSeconds(1));
        return slow;
    }

    /// <summary>Sends large messages until the server reports the slow reader behind; returns their sequences.</summary>
    internal static async Task<List<long>> SendUntilBehindAsync(HubConnection sender, string room, MetricsRecorder metrics)
    {
        var acknowledged = new List<long>();
        for (var i = 0; i < 3000 && metrics.Sum(Behind) == 0; i++)
        {
            acknowledged.Add((await sender.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, Bulk))).Sequence);
        }

        Assert.That(metrics.Sum(Behind), Is.EqualTo(1), "the slow reader fell behind");
        return acknowledged;
    }

    private static IEnumerable<long> MessageSequences(string frames) =>
        frames.Split(RawHubSocket.RecordSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(r => System.Text.Json.JsonDocument.Parse(r).RootElement)
            .Where(r => r.TryGetProperty("target", out var target) && target.GetString() == nameof(IRoomClient.MessageReceived))
            .Select(r => r.GetProperty("arguments")[0].GetProperty("sequence").GetInt64())
            .ToList();
}
