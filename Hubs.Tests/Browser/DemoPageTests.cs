using System.Collections.Concurrent;
using Hubs.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hubs.Tests.Browser;

/// <summary>
/// The demo page in a real headless Chromium, two pages as two users, against the real server (one node, Development):
/// a PRIVATE room, an invite, history on join, chat both ways in order, typing and presence (online, then away) with the
/// member count, and a kick whose reason the removed user sees; the server logs no error. The WebSocket URLs carry a
/// single-use ticket, never the JWT. A large room (contract version 2) shows its count and each digest's changes.
/// </summary>
[NonParallelizable]
public sealed class DemoPageTests
{
    [Test]
    public async Task TwoUsers_PrivateRoom_Invite_Chat_Typing_Presence_Kick()
    {
        await using var server = ServerProcess.Start("Development", new Dictionary<string, string>
        {
            ["Hubs__Limits__ConnectsPerMinutePerAddress"] = "1000",
        });
        var url = (await server.ListeningAsync()).ToString().TrimEnd('/');
        await using var browser = await BrowserSession.StartAsync();
        var sockets = new ConcurrentQueue<string>();
        var alice = await SignedInAsync(browser, url, "alice", sockets);
        var bob = await SignedInAsync(browser, url, "bob", sockets);

        // Alice creates a PRIVATE room and invites Bob, who joins it by id.
        await alice.GetByTestId("new-room").FillAsync("secret");
        await alice.GetByTestId("new-permission").SelectOptionAsync("PRIVATE");
        await alice.GetByTestId("create").ClickAsync();
        await Expect(alice.GetByTestId("room-title")).ToContainTextAsync("PRIVATE");
        await Expect(alice.GetByTestId("member-count")).ToHaveTextAsync("1 member");
        await bob.GetByTestId("join-room").FillAsync("secret");
        await bob.GetByTestId("join").ClickAsync();
        await Expect(bob.GetByTestId("notice")).ToContainTextAsync("not_found");
        await alice.GetByTestId("invitee").FillAsync("bob");
        await alice.GetByTestId("invite").ClickAsync();
        await Expect(alice.GetByTestId("notice")).ToContainTextAsync("invited bob");
        await SendAsync(alice, "before you came");
        await Expect(alice.GetByTestId("messages")).ToContainTextAsync("alice: before you came");
        await bob.GetByTestId("join").ClickAsync();
        await Expect(bob.GetByTestId("room-title")).ToContainTextAsync("secret");
        await Expect(bob.GetByTestId("messages")).ToContainTextAsync("alice: before you came");

        // Presence: each sees the other in the member list.
        await Expect(alice.GetByTestId("member-bob")).ToContainTextAsync("online");
        await Expect(alice.GetByTestId("room-secret")).ToContainTextAsync("PRIVATE · 2");
        await Expect(bob.GetByTestId("member-alice")).ToBeVisibleAsync();
        await Expect(alice.GetByTestId("member-count")).ToHaveTextAsync("2 members");
        await Expect(bob.GetByTestId("member-count")).ToHaveTextAsync("2 members");

        // Chat both ways, and the typing indicator.
        await SendAsync(alice, "hello bob");
        await Expect(bob.GetByTestId("messages")).ToContainTextAsync("alice: hello bob");
        await bob.GetByTestId("text").PressSequentiallyAsync("hi");
        await Expect(alice.GetByTestId("typing")).ToContainTextAsync("bob is typing");
        await bob.GetByTestId("text").FillAsync("hello alice");
        await bob.GetByTestId("send").ClickAsync();
        await Expect(alice.GetByTestId("messages")).ToContainTextAsync("bob: hello alice");
        string[] conversation = ["alice: before you came", "alice: hello bob", "bob: hello alice"];
        await Expect(bob.GetByTestId("messages").Locator("li")).ToHaveTextAsync(conversation);

        // Live presence: Bob steps away, Alice's member list says so.
        await bob.GetByTestId("status").SelectOptionAsync("away");
        await Expect(alice.GetByTestId("member-bob")).ToContainTextAsync("away");
        await BrowserSession.ScreenshotAsync(alice, "demo-owner-chat");
        await BrowserSession.ScreenshotAsync(bob, "demo-guest-chat");

        // The owner kicks Bob, who is told why.
        await alice.GetByTestId("kick-bob").ClickAsync();
        await Expect(bob.GetByTestId("notice")).ToContainTextAsync("removed from secret: kicked");
        await Expect(alice.GetByTestId("member-bob")).ToHaveCountAsync(0);
        await Expect(alice.GetByTestId("member-count")).ToHaveTextAsync("1 member");
        await BrowserSession.ScreenshotAsync(bob, "demo-kicked");

        // On a phone the three panels stack, with nothing to scroll sideways.
        await alice.SetViewportSizeAsync(390, 844);
        Assert.That(await alice.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), Is.True, "fits a phone's width");
        await BrowserSession.ScreenshotAsync(alice, "demo-phone");

        Assert.That(sockets, Has.Count.GreaterThanOrEqualTo(2), "each page opened a WebSocket");
        Assert.Multiple(() =>
        {
            foreach (var socket in sockets)
            {
                var token = new Uri(socket).Query.TrimStart('?').Split('&')
                    .Single(p => p.StartsWith("access_token=", StringComparison.Ordinal))["access_token=".Length..];
                Assert.That(token, Does.Not.Contain('.').And.Not.StartWith("eyJ"), "a ticket (no dots), not a JWT, is in the WebSocket URL");
                Assert.That(token, Has.Length.GreaterThanOrEqualTo(40));
            }

            Assert.That(server.ErrorLines, Is.Empty, "the server logged no error");
        });
    }

    /// <summary>
    /// Contract version 2 on the page: a room past the digest threshold (2 here) counts its members and shows what each
    /// digest changed, and its member list follows the digests.
    /// </summary>
    [Test]
    public async Task LargeRoom_CountAndDigestChangesShown()
    {
        await using var server = ServerProcess.Start("Development", new Dictionary<string, string>
        {
            ["Hubs__Limits__ConnectsPerMinutePerAddress"] = "1000",
            ["Hubs__Presence__DigestThreshold"] = "2",
            ["Hubs__Presence__DigestIntervalMilliseconds"] = "100",
        });
        var url = (await server.ListeningAsync()).ToString().TrimEnd('/');
        await using var browser = await BrowserSession.StartAsync();
        var sockets = new ConcurrentQueue<string>();
        var alice = await SignedInAsync(browser, url, "alice", sockets);
        var bob = await SignedInAsync(browser, url, "bob", sockets);
        var carol = await SignedInAsync(browser, url, "carol", sockets);

        await alice.GetByTestId("new-room").FillAsync("town");
        await alice.GetByTestId("create").ClickAsync();
        await Expect(alice.GetByTestId("member-count")).ToHaveTextAsync("1 member");

        // Bob's join reaches the threshold: told by its event, then the room reports by digests.
        await JoinAsync(bob, "town");
        await Expect(alice.GetByTestId("member-count")).ToHaveTextAsync("2 members · large room");
        await JoinAsync(carol, "town");
        await Expect(alice.GetByTestId("digest")).ToHaveTextAsync("+1 joined, −0 left");
        await Expect(alice.GetByTestId("member-count")).ToHaveTextAsync("3 members · large room");
        await Expect(alice.GetByTestId("member-carol")).ToContainTextAsync("online");
        await Expect(carol.GetByTestId("member-count")).ToHaveTextAsync("3 members · large room");

        await bob.GetByTestId("status").SelectOptionAsync("away");
        await Expect(alice.GetByTestId("digest")).ToHaveTextAsync("+0 joined, −0 left, 1 changed status");
        await Expect(alice.GetByTestId("member-bob")).ToContainTextAsync("away");
        await BrowserSession.ScreenshotAsync(alice, "demo-large-room");

        await carol.CloseAsync();
        await Expect(alice.GetByTestId("digest")).ToHaveTextAsync("+0 joined, −1 left");
        await Expect(alice.GetByTestId("member-count")).ToHaveTextAsync("2 members · large room");
        await Expect(alice.GetByTestId("member-carol")).ToHaveCountAsync(0);
        Assert.That(server.ErrorLines, Is.Empty, "the server logged no error");
    }

    private static async Task JoinAsync(IPage page, string roomId)
    {
        await page.GetByTestId("join-room").FillAsync(roomId);
        await page.GetByTestId("join").ClickAsync();
        await Expect(page.GetByTestId("room-title")).ToContainTextAsync(roomId);
    }

    private static async Task<IPage> SignedInAsync(BrowserSession browser, string url, string name, ConcurrentQueue<string> sockets)
    {
        var page = await browser.NewPageAsync();
        page.WebSocket += (_, socket) => sockets.Enqueue(socket.Url);
        await page.GotoAsync(url + "/");
        await page.GetByTestId("name").FillAsync(name);
        await page.GetByTestId("signin").ClickAsync();
        await Expect(page.GetByTestId("state")).ToContainTextAsync($"{name} · Connected");
        return page;
    }

    private static async Task SendAsync(IPage page, string text)
    {
        await page.GetByTestId("text").FillAsync(text);
        await page.GetByTestId("send").ClickAsync();
    }
}
