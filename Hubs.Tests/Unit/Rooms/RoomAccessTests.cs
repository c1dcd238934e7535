using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Rooms;

namespace Hubs.Tests.Unit.Rooms;

public sealed class RoomAccessTests
{
    private static readonly HubsUser Owner = User("owner");
    private static readonly HubsUser Invited = User("invited");
    private static readonly HubsUser RoleHolder = User("staffer", "staff");
    private static readonly HubsUser Other = User("other", "guest");

    // Columns: join, get, list, send, members, history, owner actions.
    // A = allowed, N = not_found (indistinguishable from a missing room), F = forbidden, - = not listed.
    private static readonly (RoomPermission Permission, string Who, string Expected)[] Table =
    [
        (RoomPermission.Public, "owner", "AAAAAAA"),
        (RoomPermission.Public, "invited", "AAAAAAF"),
        (RoomPermission.Public, "role holder", "AAAAAAF"),
        (RoomPermission.Public, "other", "AAAAAAF"),
        (RoomPermission.Private, "owner", "AAAAAAA"),
        (RoomPermission.Private, "invited", "AAAAAAF"),
        (RoomPermission.Private, "role holder", "NN-NNNN"),
        (RoomPermission.Private, "other", "NN-NNNN"),
        (RoomPermission.Restricted, "owner", "AAAAAAA"),
        (RoomPermission.Restricted, "invited", "NN-NNNN"),
        (RoomPermission.Restricted, "role holder", "AAAAAAF"),
        (RoomPermission.Restricted, "other", "NN-NNNN"),
        (RoomPermission.OwnerOnly, "owner", "AAAAAAA"),
        (RoomPermission.OwnerOnly, "invited", "NN-NNNN"),
        (RoomPermission.OwnerOnly, "role holder", "NN-NNNN"),
        (RoomPermission.OwnerOnly, "other", "NN-NNNN"),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        Table.Select(row => new TestCaseData(row.Permission, row.Who, row.Expected)
            .SetName($"Decide_{row.Permission}_{row.Who.Replace(' ', '_')}_{row.Expected}"));

    [TestCaseSource(nameof(Cases))]
    public void Decide_PermissionAndCaller_MatchesTable(RoomPermission permission, string who, string expected)
    {
        var room = Room(permission);
        var (user, grants) = who switch
        {
            "owner" => (Owner, RoomGrants.None),
            "invited" => (Invited, new RoomGrants(Invited: true, Kicked: false)),
            "role holder" => (RoleHolder, RoomGrants.None),
            _ => (Other, RoomGrants.None),
        };

        var actual = string.Concat(
            Code(RoomAccess.Decide(room, user, grants, connectionJoined: false, RoomAction.Join)),
            Code(RoomAccess.Decide(room, user, grants, connectionJoined: false, RoomAction.View)),
            RoomAccess.CanJoin(room, user, grants) ? "A" : "-",
            Code(RoomAccess.Decide(room, user, grants, connectionJoined: true, RoomAction.Send)),
            Code(RoomAccess.Decide(room, user, grants, connectionJoined: true, RoomAction.ReadJoined)),
            Code(RoomAccess.Decide(room, user, grants, connectionJoined: true, RoomAction.ReadJoined)),
            Code(RoomAccess.Decide(room, user, grants, connectionJoined: true, RoomAction.Manage)));

        Assert.That(actual, Is.EqualTo(expected));
    }

    [TestCase(nameof(RoomAction.Send))]
    [TestCase(nameof(RoomAction.ReadJoined))]
    public void Decide_VisibleRoomNotJoined_AnswersForbidden(string action) =>
        Assert.That(RoomAccess.Decide(Room(RoomPermission.Public), Other, RoomGrants.None, connectionJoined: false, Enum.Parse<RoomAction>(action)),
            Is.EqualTo(AccessDecision.Forbidden));

    [TestCase(nameof(RoomAction.Join))]
    [TestCase(nameof(RoomAction.View))]
    [TestCase(nameof(RoomAction.Manage))]
    public void Decide_MissingRoom_AnswersNotFound(string action) =>
        Assert.That(RoomAccess.Decide(null, Owner, RoomGrants.None, connectionJoined: false, Enum.Parse<RoomAction>(action)), Is.EqualTo(AccessDecision.NotFound));

    [Test]
    public void CanJoin_KickedFromPublicRoom_IsRefusedUntilInvitedAgain()
    {
        var room = Room(RoomPermission.Public);

        Assert.Multiple(() =>
        {
            Assert.That(RoomAccess.CanJoin(room, Other, new RoomGrants(Invited: false, Kicked: true)), Is.False);
            Assert.That(RoomAccess.Decide(room, Other, new RoomGrants(false, true), false, RoomAction.View), Is.EqualTo(AccessDecision.NotFound));
            Assert.That(RoomAccess.CanJoin(room, Other, new RoomGrants(Invited: true, Kicked: false)), Is.True);
        });
    }

    [Test]
    public void CanJoin_RestrictedWithoutAllowedRoles_OnlyOwner() =>
        Assert.That(RoomAccess.CanJoin(Room(RoomPermission.Restricted) with { AllowedRoles = [] }, RoleHolder, RoomGrants.None), Is.False);

    private static string Code(AccessDecision decision) => decision switch
    {
        AccessDecision.Allow => "A",
        AccessDecision.NotFound => "N",
        _ => "F",
    };

    private static RoomRecord Room(RoomPermission permission) =>
        new("r1", "Room", permission, Owner.UserId, ["staff"], 10, DateTimeOffset.UnixEpoch);

    private static HubsUser User(string id, params string[] roles) => new(id, id, roles, null);
}
