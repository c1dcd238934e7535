using Hubs.Server.Options;
using Hubs.Server.Presence;
using Hubs.Server.RateLimiting;
using Hubs.Server.Rooms;

namespace Hubs.Tests.Unit.Rooms;

/// <summary>Single-node history: sequences, the window, and idempotent retries by sender and client message id.</summary>
public sealed class InMemoryRoomMessageLogTests
{
    private const int Window = 3;
    private InMemoryRoomMessageLog _log = null!;

    [SetUp]
    public void NewLog() => _log = new(
        Microsoft.Extensions.Options.Options.Create(new HistoryOptions { MaxMessagesPerRoom = Window }),
        new InMemorySendAdmission(new InMemoryPresenceTracker(), Microsoft.Extensions.Options.Options.Create(new LimitsOptions())));

    [Test]
    public async Task SameSenderSameId_SecondAppendReturnsTheOriginalAndStoresNothing()
    {
        var first = await AppendAsync("r", "ann", "hello", "id-1");
        var retry = await AppendAsync("r", "ann", "hello again", "id-1");

        Assert.Multiple(async () =>
        {
            Assert.That(first.Duplicate, Is.False);
            Assert.That(retry.Duplicate, Is.True);
            Assert.That(retry.Message, Is.EqualTo(first.Message), "the original, text and time included");
            Assert.That(await _log.GetLastSequenceAsync("r", default), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task OtherSenderOtherRoomOrNoId_AreNewMessages()
    {
        await AppendAsync("r", "ann", "a", "id-1");

        var otherSender = await AppendAsync("r", "bob", "b", "id-1");
        var otherRoom = await AppendAsync("q", "ann", "c", "id-1");
        var noId = await AppendAsync("r", "ann", "d", null);
        var noIdAgain = await AppendAsync("r", "ann", "d", null);

        Assert.That(new[] { otherSender, otherRoom, noId, noIdAgain }.Select(r => (r.Duplicate, r.Message.Sequence)),
            Is.EqualTo(new[] { (false, 2L), (false, 1L), (false, 3L), (false, 4L) }));
    }

    [Test]
    public async Task SenderAndIdCannotRunIntoEachOther()
    {
        // "a:b" + "c" and "a" + "b:c" would collide if the key were a plain join.
        var first = await AppendAsync("r", "a:b", "x", "c");
        var second = await AppendAsync("r", "a", "y", "b:c");

        Assert.That((first.Duplicate, second.Duplicate, second.Message.Sequence), Is.EqualTo((false, false, 2L)));
    }

    [Test]
    public async Task OriginalTrimmedOutOfTheWindow_TheSameIdIsANewMessage()
    {
        await AppendAsync("r", "ann", "old", "id-1");
        for (var i = 0; i < Window; i++)
        {
            await AppendAsync("r", "bob", $"filler {i}", null);
        }

        var again = await AppendAsync("r", "ann", "new", "id-1");
        var retryOfNew = await AppendAsync("r", "ann", "new", "id-1");

        Assert.Multiple(() =>
        {
            Assert.That((again.Duplicate, again.Message.Sequence), Is.EqualTo((false, 5L)));
            Assert.That((retryOfNew.Duplicate, retryOfNew.Message.Sequence), Is.EqualTo((true, 5L)));
        });
    }

    [Test]
    public async Task ConcurrentRetries_StoredOnce()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => AppendAsync("r", "ann", "same", "id-1"))));

        Assert.Multiple(async () =>
        {
            Assert.That(results.Count(r => !r.Duplicate), Is.EqualTo(1));
            Assert.That(results.Select(r => r.Message.Sequence).Distinct(), Is.EqualTo(new[] { 1L }));
            Assert.That(await _log.GetLastSequenceAsync("r", default), Is.EqualTo(1));
        });
    }

    private Task<AppendResult> AppendAsync(string room, string sender, string text, string? clientMessageId) =>
        _log.AppendAsync(room, new MessageDraft(sender, sender, text, DateTimeOffset.UtcNow, clientMessageId), admitConnectionId: null, default);
}
