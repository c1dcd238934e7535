using System.Reflection;
using System.Threading.Channels;
using Hubs.Server.Authorization;
using Hubs.Server.Rooms;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Hubs.Tests.Unit.Authorization;

public sealed class ClientMessageRulesTests
{
    private static IEnumerable<TestCaseData> KeptMessages()
    {
        yield return new TestCaseData(new InvocationMessage("1", "JoinRoom", ["r1"])).SetName("Refusal_Invocation_Kept");
        yield return new TestCaseData(new InvocationMessage("SetTyping", ["r1"])).SetName("Refusal_NonBlockingInvocation_Kept");
        yield return new TestCaseData(new StreamInvocationMessage("1", "JoinRoom", ["r1"])).SetName("Refusal_StreamInvocation_Kept");
        yield return new TestCaseData(new InvocationBindingFailureMessage("1", "JoinRoom", null!)).SetName("Refusal_InvocationBindingFailure_Kept");
        yield return new TestCaseData(PingMessage.Instance).SetName("Refusal_Ping_Kept");
        yield return new TestCaseData(CloseMessage.Empty).SetName("Refusal_CloseOnStop_Kept");
        yield return new TestCaseData(new CancelInvocationMessage("1")).SetName("Refusal_CancelInvocation_Kept");
    }

    private static IEnumerable<TestCaseData> RefusedMessages()
    {
        yield return new TestCaseData(new StreamItemMessage("1", "x")).SetName("Refusal_StreamItem_Refused");
        yield return new TestCaseData(new StreamBindingFailureMessage("1", null!)).SetName("Refusal_StreamItemForNoStream_Refused");
        yield return new TestCaseData(CompletionMessage.WithResult("1", "x")).SetName("Refusal_CompletionWithResult_Refused");
        yield return new TestCaseData(CompletionMessage.WithError("1", "x")).SetName("Refusal_CompletionWithError_Refused");
        yield return new TestCaseData(CompletionMessage.Empty("1")).SetName("Refusal_CompletionEmpty_Refused");
        yield return new TestCaseData(new AckMessage(1)).SetName("Refusal_AckWithoutStatefulReconnect_Refused");
        yield return new TestCaseData(new SequenceMessage(1)).SetName("Refusal_SequenceWithoutStatefulReconnect_Refused");
        yield return new TestCaseData(new FutureMessage()).SetName("Refusal_TypeTheRulesDoNotKnow_RefusedAsUnknown");
    }

    [TestCaseSource(nameof(KeptMessages))]
    public void Refusal_LegitimateClientMessage_Null(HubMessage message) =>
        Assert.That(ClientMessageRules.Refusal(message, statefulReconnect: false), Is.Null);

    [TestCaseSource(nameof(RefusedMessages))]
    public void Refusal_MessageNoClientOfTheHubSends_Reason(HubMessage message) =>
        Assert.That(ClientMessageRules.Refusal(message, statefulReconnect: false), Is.Not.Null.And.Not.Empty);

    [Test]
    public void Refusal_AckAndSequenceWithStatefulReconnect_Null() => Assert.Multiple(() =>
    {
        Assert.That(ClientMessageRules.Refusal(new AckMessage(1), statefulReconnect: true), Is.Null);
        Assert.That(ClientMessageRules.Refusal(new SequenceMessage(1), statefulReconnect: true), Is.Null);
    });

    /// <summary>Stream items and completions are refused because no hub method takes a stream from the client.</summary>
    [Test]
    public void RoomHub_NoMethodTakesAClientStream()
    {
        var streamed = typeof(RoomHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .SelectMany(m => m.GetParameters(), (m, p) => (m.Name, p.ParameterType))
            .Where(p => p.ParameterType.IsGenericType
                && (p.ParameterType.GetGenericTypeDefinition() == typeof(ChannelReader<>)
                    || p.ParameterType.GetGenericTypeDefinition() == typeof(IAsyncEnumerable<>)))
            .Select(p => p.Name);

        Assert.That(streamed, Is.Empty, "a client stream would need ClientMessageRules to keep stream items and completions");
    }

    /// <summary>A message type a newer protocol might add.</summary>
    private sealed class FutureMessage : HubMessage;
}
