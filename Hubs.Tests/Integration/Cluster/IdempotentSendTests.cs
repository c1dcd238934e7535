using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// A send with a client message id the sender already used in the room, while that message is in the history window,
/// returns the original and stores nothing, whichever node it reaches (issue 7, acknowledgement 5).
/// </summary>
public sealed class IdempotentSendTests : ClusterFixture
{
    private const int Window = 5;

    protected override int NodeCount => 2;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Hubs:History:MaxMessagesPerRoom"] = Window.ToString(),
    };

    [Test]
    public async Task RetryOnAnotherNode_OriginalSequenceAndTime_StoredAndBroadcastOnce()
    {
        var room = NewRoomId();
        var first = await ConnectAsync(0, "iris");
        var second = await ConnectAsync(1, "iris");
        var watcher = await ConnectAsync(1, "walt");
        var seen = new EventRecorder<RoomMessage>(watcher, nameof(IRoomClient.MessageReceived));
        await first.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var connection in new[] { first, second, watcher })
        {
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        var original = await SendAsync(first, room, "hello", "c-1");
        var retry = await SendAsync(second, room, "hello", "c-1");
        var next = await SendAsync(second, room, "next", "c-2");
        await seen.WaitAsync(m => m.Sequence == next.Sequence);
        var history = await watcher.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room));
        var join = await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        Assert.Multiple(() =>
        {
            Assert.That(retry, Is.EqualTo(original));
            Assert.That(next.Sequence, Is.EqualTo(2));
            Assert.That(history.Select(m => (m.Sequence, m.ClientMessageId)), Is.EqualTo(new[] { (1L, "c-1"), (2L, "c-2") }));
            Assert.That(seen.Items.Select(m => m.Sequence), Is.EqualTo(new long[] { 1, 2 }), "the retry is not broadcast again");
            Assert.That(join.LastSequence, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task OtherUserSameId_OrOriginalTrimmed_NewMessages()
    {
        var room = NewRoomId();
        var iris = await ConnectAsync(0, "iris");
        var otto = await ConnectAsync(1, "otto");
        await iris.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await iris.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await otto.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        var mine = await SendAsync(iris, room, "mine", "shared-id");
        var his = await SendAsync(otto, room, "his", "shared-id");
        for (var i = 0; i < Window; i++)
        {
            await SendAsync(otto, room, $"filler {i}", null);
        }

        var afterTrim = await SendAsync(iris, room, "mine again", "shared-id");
        var retryAfterTrim = await SendAsync(iris, room, "mine again", "shared-id");

        Assert.Multiple(() =>
        {
            Assert.That((mine.Sequence, his.Sequence), Is.EqualTo((1L, 2L)));
            Assert.That(afterTrim.Sequence, Is.EqualTo(8), "the original left the window: a new message");
            Assert.That(retryAfterTrim, Is.EqualTo(afterTrim));
        });
    }

    [Test]
    public async Task ConcurrentRetriesOnBothNodes_StoredExactlyOnce()
    {
        var room = NewRoomId();
        var connections = new List<HubConnection>();
        for (var i = 0; i < 6; i++)
        {
            connections.Add(await ConnectAsync(i % 2, "iris"));
        }

        await connections[0].InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var connection in connections)
        {
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        var results = await Task.WhenAll(connections.SelectMany(c => Enumerable.Range(0, 5).Select(_ => SendAsync(c, room, "once", "race-1"))));
        var history = await connections[0].InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room));

        Assert.Multiple(() =>
        {
            Assert.That(results.Distinct().Count(), Is.EqualTo(1), "every attempt got the same acknowledgement");
            Assert.That(history, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task RoomDeleted_ItsRetryIndexGoesWithIt()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(0, "iris");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        for (var i = 0; i < Window + 2; i++)
        {
            await SendAsync(owner, room, $"m{i}", $"id-{i}");
        }

        var before = await Redis.KeysAsync($"*{room}*");
        await owner.InvokeAsync(nameof(IRoomHub.DeleteRoom), room);
        var after = await Redis.KeysAsync($"*{room}*");

        Assert.Multiple(() =>
        {
            Assert.That(before.Count(k => k.Contains(":msgids")), Is.EqualTo(2), "the index exists while the room does");
            Assert.That(after.Where(k => !k.Contains(":budget:")), Is.Empty);
        });
    }

    [Test]
    public async Task RetryIndex_HoldsOnlyTheWindow()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync(0, "iris");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        for (var i = 0; i < Window * 4; i++)
        {
            await SendAsync(owner, room, $"m{i}", $"id-{i}");
        }

        var ids = await Redis.HashLengthAsync((await Redis.KeysAsync($"*{room}*:msgids")).Single());

        Assert.That(ids, Is.EqualTo(Window));
    }

    private static Task<SendMessageResult> SendAsync(HubConnection connection, string room, string text, string? clientMessageId) =>
        connection.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, text, clientMessageId));
}
