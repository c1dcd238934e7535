using System.Security.Claims;
using Hubs.Server.Authorization;

namespace Hubs.Tests.Unit.Authorization;

/// <summary>The caller read from a validated token, and the principal a connection keeps for its life.</summary>
public sealed class HubsUserTests
{
    [Test]
    public void Essentials_KeepsWhatFromReads_AndDropsEverythingElse()
    {
        var principal = new ClaimsPrincipal(new ClaimsIdentity(
            [
                new Claim("sub", "alice"), new Claim("name", "Alice"), new Claim("role", "staff"), new Claim("role", "hubs-admin"),
                new Claim("exp", "1900000000", ClaimValueTypes.Integer64), new Claim("iss", "hubs"), new Claim("aud", "hubs"),
                new Claim("jti", "x"), new Claim("custom", "large value"),
            ],
            "AuthenticationTypes.Federation",
            HubsUser.NameClaim,
            HubsUser.RoleClaim));

        var essentials = HubsUser.Essentials(principal);

        Assert.Multiple(() =>
        {
            Assert.That(HubsUser.From(essentials), Is.EqualTo(HubsUser.From(principal)).Using<HubsUser>(SameUser));
            Assert.That(essentials.Claims.Select(c => c.Type), Is.EquivalentTo(new[] { "sub", "name", "role", "role", "exp" }));
            Assert.That(essentials.Identity!.IsAuthenticated, Is.True);
            Assert.That(essentials.IsInRole("hubs-admin"), Is.True, "role checks (the admin API's policy) still hold");
            Assert.That(essentials.Identity.Name, Is.EqualTo("Alice"));
        });
    }

    private static bool SameUser(HubsUser a, HubsUser b) =>
        a.UserId == b.UserId && a.DisplayName == b.DisplayName && a.Roles.SequenceEqual(b.Roles) && a.ExpiresAt == b.ExpiresAt;
}
