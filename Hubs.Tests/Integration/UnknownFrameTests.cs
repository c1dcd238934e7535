using System.Net.WebSockets;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Integration;

/// <summary>
/// T29: a frame of a message type the server does not know, or one no client of the room hub sends, closes its
/// connection at once with <c>invalid_argument</c> instead of leaving it open and deaf; everyone else carries on.
/// </summary>
public sealed class UnknownFrameTests : ServerFixture
{
    /// <summary>How soon the refused connection must hear why it is closed.</summary>
    private static readonly TimeSpan CloseBound = TimeSpan.FromSeconds(1);

    private static IEnumerable<TestCaseData> UnusableFrames()
    {
        yield return Json("""{"type":0}""").SetName("T29_JsonTypeZero_ClosedWithInvalidArgumentOthersUnaffected");
        yield return Json("""{"type":99}""").SetName("T29_JsonTypeNinetyNine_ClosedWithInvalidArgumentOthersUnaffected");
        yield return Json("""{"type":-1}""").SetName("T29_JsonTypeMinusOne_ClosedWithInvalidArgumentOthersUnaffected");

        // A MessagePack frame is a varint length, then the message as an array: [99] is 0x91 0x63.
        yield return new TestCaseData(true, new byte[] { 0x02, 0x91, 0x63 })
            .SetName("T29_MessagePackTypeNinetyNine_ClosedWithInvalidArgumentOthersUnaffected");

        yield return Json("""{"type":2,"invocationId":"1","item":"x"}""")
            .SetName("T29_JsonStreamItemForNoStream_ClosedWithInvalidArgumentOthersUnaffected");
        yield return Json("""{"type":3,"invocationId":"1","result":"x"}""")
            .SetName("T29_JsonCompletionNeverAskedFor_ClosedWithInvalidArgumentOthersUnaffected");
        yield return Json("""{"type":8,"sequenceId":1}""")
            .SetName("T29_JsonAckWithoutStatefulReconnect_ClosedWithInvalidArgumentOthersUnaffected");
        yield return Json("""{"type":9,"sequenceId":1}""")
            .SetName("T29_JsonSequenceWithoutStatefulReconnect_ClosedWithInvalidArgumentOthersUnaffected");
    }

    private static TestCaseData Json(string message) =>
        new(false, System.Text.Encoding.UTF8.GetBytes(message + RawHubSocket.RecordSeparator));

    [TestCaseSource(nameof(UnusableFrames))]
    public async Task UnusableFrame_SenderClosedWithInvalidArgument_OthersUnaffected(bool messagePack, byte[] frame)
    {
        var room = NewRoomId();
        var bystander = await ConnectAsync("bystander");
        var received = new EventRecorder<RoomMessage>(bystander, nameof(IRoomClient.MessageReceived));
        await bystander.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await bystander.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        using var metrics = new MetricsRecorder(Server);
        await using var sender = await RawHubSocket.ConnectAsync(Server.HubUrl, TestTokens.For("sender"), messagePack: messagePack);

        await (messagePack ? sender.SendBinaryAsync(frame) : sender.SendBytesAsync(frame));
        var error = await sender.ReceiveCloseMessageErrorAsync(CloseBound);
        await sender.ReceiveUntilClosedAsync();
        await bystander.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "still here"));
        await received.WaitAsync(m => m.Text == "still here");

        Assert.That(error, Does.StartWith(ErrorCodes.InvalidArgument + ": ").And.Match(@"\(ref [0-9a-f]+\)$"), "the close message says why");
        var refusal = error!;
        var refId = refusal[(refusal.LastIndexOf("(ref ", StringComparison.Ordinal) + 5)..^1];
        Assert.Multiple(() =>
        {
            Assert.That(sender.Socket.State, Is.Not.EqualTo(WebSocketState.Open), "the sender is closed");
            Assert.That(bystander.State, Is.EqualTo(HubConnectionState.Connected), "others are unaffected");
            Assert.That(
                Server.Logs.Lines.Where(l => l.Message.Contains(refId, StringComparison.Ordinal)).Select(l => l.Level),
                Is.EqualTo(new[] { LogLevel.Warning }),
                "one log line under the ref id");
            Assert.That(metrics.Sum("hubs.authorization.denials", "code=unusable_frame"), Is.EqualTo(1), "counted");
        });
    }
}
