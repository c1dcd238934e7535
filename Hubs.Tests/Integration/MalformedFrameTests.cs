using System.Net.WebSockets;
using System.Text;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration;

/// <summary>T11, T24: bad frames close only their sender; the server and everyone else carry on, memory bounded.</summary>
public sealed class MalformedFrameTests : ServerFixture
{
    /// <summary>What the whole battery may add to the server process's live heap (it sends well over 20 MB).</summary>
    private const long MemoryBoundBytes = 64L * 1024 * 1024;

    private static IEnumerable<TestCaseData> BadPayloads()
    {
        yield return new TestCaseData("garbage").SetName("T11_Garbage_SenderClosedOthersUnaffected");
        yield return new TestCaseData("truncated").SetName("T11_TruncatedJson_SenderClosedOthersUnaffected");
        yield return new TestCaseData("deep").SetName("T11_TenThousandDeepNesting_SenderClosedOthersUnaffected");
        yield return new TestCaseData("huge").SetName("T11_TenMegabyteFrame_SenderClosedOthersUnaffected");
        yield return new TestCaseData("compressible").SetName("T24_HighlyCompressibleLargeFrame_SenderClosedOthersUnaffected");
    }

    private static Task SendBadAsync(string kind, RawHubSocket socket) => kind switch
    {
        "garbage" => socket.SendBytesAsync([0x00, 0xFF, 0xFE, 0x1E, 0x01, 0x1E]),
        "truncated" => socket.SendTextAsync("""{"type":1,"target":"JoinRoom","argu""" + RawHubSocket.RecordSeparator),
        "deep" => socket.SendTextAsync(
            """{"type":1,"target":"SendMessage","arguments":""" + new string('[', 10_000) + new string(']', 10_000) + "}" + RawHubSocket.RecordSeparator),
        "huge" => SendLargeAsync(socket, (byte)'x'),
        _ => SendLargeAsync(socket, (byte)' '),
    };

    [TestCaseSource(nameof(BadPayloads))]
    public async Task BadFrame_SenderClosed_ServerUpOthersUnaffectedMemoryBounded(string kind)
    {
        var room = NewRoomId();
        var bystander = await ConnectAsync("bystander");
        var received = new EventRecorder<RoomMessage>(bystander, nameof(IRoomClient.MessageReceived));
        await bystander.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await bystander.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        await using var attacker = await RawHubSocket.ConnectAsync(Server.HubUrl, TestTokens.For($"attacker-{kind}"));
        try
        {
            await SendBadAsync(kind, attacker);
        }
        catch (WebSocketException)
        {
            // The server may close the socket while a large payload is still being sent.
        }

        await attacker.ReceiveUntilClosedAsync();
        await bystander.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "still here"));
        await received.WaitAsync(m => m.Text == "still here");
        var after = GC.GetTotalMemory(forceFullCollection: true);

        Assert.Multiple(() =>
        {
            Assert.That(attacker.Socket.State, Is.Not.EqualTo(WebSocketState.Open), "the sender is closed");
            Assert.That(bystander.State, Is.EqualTo(HubConnectionState.Connected), "others are unaffected");
            Assert.That(after - before, Is.LessThan(MemoryBoundBytes), "memory stays bounded");
        });
    }

    [Test]
    public async Task T24_PerMessageCompression_NotNegotiated()
    {
        using var socket = new ClientWebSocket();
        socket.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        socket.Options.CollectHttpResponseDetails = true;
        var uri = new UriBuilder(Server.HubUrl) { Scheme = "ws", Query = $"access_token={TestTokens.For("zipper")}" }.Uri;

        await socket.ConnectAsync(uri, CancellationToken.None);

        Assert.That(socket.HttpResponseHeaders?.ContainsKey("Sec-WebSocket-Extensions") ?? false, Is.False, "no permessage-deflate");
        socket.Abort();
    }

    /// <summary>Ten megabytes in one WebSocket message, sent in 64 KB fragments, with no record separator.</summary>
    private static async Task SendLargeAsync(RawHubSocket socket, byte fill)
    {
        var chunk = Enumerable.Repeat(fill, 64 * 1024).ToArray();
        for (var sent = 0; sent < 10 * 1024 * 1024; sent += chunk.Length)
        {
            await socket.SendBytesAsync(chunk, endOfMessage: false);
        }

        await socket.SendBytesAsync(Encoding.UTF8.GetBytes("x"), endOfMessage: true);
    }
}
