using Hubs.Server.Presence;

namespace Hubs.Tests.Unit.Presence;

/// <summary>T27: which open connections must have an entry in shared presence.</summary>
public sealed class LocalConnectionsTests
{
    [Test]
    public void PresentIds_OnlyBetweenConnectedAndDeparting()
    {
        var local = new LocalConnections();
        local.Add("connecting", "u1");
        local.Add("present", "u2");
        local.Present("present");
        local.Add("departing", "u3");
        local.Present("departing");
        local.Departing("departing");
        local.Present("gone"); // Unknown ids stay unknown.

        Assert.Multiple(() =>
        {
            Assert.That(local.PresentIds(), Is.EqualTo(new[] { "present" }));
            Assert.That(local.Count, Is.EqualTo(3), "connecting and departing connections are still open here");
            Assert.That(local.Contains("gone"), Is.False);
        });
    }
}
