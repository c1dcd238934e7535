using System.Reflection;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.Rooms;

namespace Hubs.Tests.Unit.Authorization;

public sealed class HubArgumentRulesTests
{
    private readonly HubArgumentRules _rules = new(new LimitsOptions { MaxTextLength = 50, MaxMembersPerRoom = 500 });

    [TestCase("a")]
    [TestCase("Room_1-x.y")]
    [TestCase("0123456789012345678901234567890123456789012345678901234567890123")]
    public void IsValidRoomId_Allowed_True(string roomId) => Assert.That(HubArgumentRules.IsValidRoomId(roomId), Is.True);

    [TestCase("")]
    [TestCase("_leading")]
    [TestCase(".hidden")]
    [TestCase("has space")]
    [TestCase("slash/room")]
    [TestCase("ümlaut")]
    [TestCase("tab\t")]
    [TestCase("01234567890123456789012345678901234567890123456789012345678901234")]
    public void IsValidRoomId_Disallowed_False(string roomId) => Assert.That(HubArgumentRules.IsValidRoomId(roomId), Is.False);

    private static IEnumerable<TestCaseData> InvalidCalls()
    {
        yield return Case(nameof(IRoomHub.GetRoom), [null], "roomId is required");
        yield return Case(nameof(IRoomHub.GetRoom), ["bad id"], "roomId");
        yield return Case(nameof(IRoomHub.InviteUser), ["r1", "evil\u0007"], "userId");
        yield return Case(nameof(IRoomHub.SetStatus), ["busy"], "status");
        yield return Case(nameof(IRoomHub.CreateRoom), [null], "request is required");
        yield return Case(nameof(IRoomHub.CreateRoom), [new CreateRoomRequest(null!, RoomPermission.Public)], "roomId");
        yield return Case(nameof(IRoomHub.CreateRoom), [new CreateRoomRequest("r1", (RoomPermission)0)], "permission");
        yield return Case(nameof(IRoomHub.CreateRoom), [new CreateRoomRequest("r1", (RoomPermission)99)], "permission");
        yield return Case(nameof(IRoomHub.CreateRoom), [new CreateRoomRequest("r1", RoomPermission.Public, "bad\nname")], "displayName");
        yield return Case(nameof(IRoomHub.CreateRoom), [new CreateRoomRequest("r1", RoomPermission.Public, MaxMembers: 0)], "maxMembers");
        yield return Case(nameof(IRoomHub.CreateRoom), [new CreateRoomRequest("r1", RoomPermission.Public, MaxMembers: 501)], "maxMembers");
        yield return Case(nameof(IRoomHub.CreateRoom), [new CreateRoomRequest("r1", RoomPermission.Restricted, AllowedRoles: ["ok", "not ok"])], "allowedRoles");
        yield return Case(nameof(IRoomHub.UpdateRoom), [new UpdateRoomRequest("r1", Permission: (RoomPermission)7)], "permission");
        yield return Case(nameof(IRoomHub.SendMessage), [new SendMessageRequest("r1", null!)], "text is required");
        yield return Case(nameof(IRoomHub.SendMessage), [new SendMessageRequest("r1", "   ")], "text is required");
        yield return Case(nameof(IRoomHub.SendMessage), [new SendMessageRequest("r1", new string('x', 51))], "longer than 50");
        yield return Case(nameof(IRoomHub.SendMessage), [new SendMessageRequest("r1", "bell\u0007")], "control characters");
        yield return Case(nameof(IRoomHub.SendMessage), [new SendMessageRequest("r1", "ok", new string('c', 65))], "clientMessageId");
        yield return Case(nameof(IRoomHub.GetHistory), [new GetHistoryRequest("r1", Limit: 0)], "limit");
        yield return Case(nameof(IRoomHub.GetHistory), [new GetHistoryRequest("r1", Limit: 201)], "limit");
        yield return Case(nameof(IRoomHub.GetHistory), [new GetHistoryRequest("r1", AfterSequence: -1)], "afterSequence");
    }

    [TestCaseSource(nameof(InvalidCalls))]
    public void Validate_InvalidArgument_ThrowsInvalidArgument(string method, object?[] arguments, string mentions)
    {
        var error = Assert.Throws<HubsErrorException>(() => _rules.Validate(Parameters(method), arguments))!;

        Assert.That(error.Code, Is.EqualTo(ErrorCodes.InvalidArgument));
        Assert.That(error.SafeText, Does.Contain(mentions));
    }

    [Test]
    public void Validate_MultilineTextAndFullRequest_Passes() =>
        Assert.DoesNotThrow(() => _rules.Validate(Parameters(nameof(IRoomHub.SendMessage)), [new SendMessageRequest("r1", "line one\nline\ttwo", "c-1")]));

    [Test]
    public void Validate_WrongArgumentCount_ThrowsInvalidArgument() =>
        Assert.That(Assert.Throws<HubsErrorException>(() => _rules.Validate(Parameters(nameof(IRoomHub.GetRoom)), []))!.Code,
            Is.EqualTo(ErrorCodes.InvalidArgument));

    private static TestCaseData Case(string method, object?[] arguments, string mentions) =>
        new TestCaseData(method, arguments, mentions).SetName($"Validate_{method}_{mentions.Replace(' ', '_')}");

    private static ParameterInfo[] Parameters(string method) => typeof(RoomHub).GetMethod(method)!.GetParameters();
}
