using Hubs.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hubs.Tests.Browser;

/// <summary>
/// The Blazor sample (Interactive Server, one HubsClient per circuit) in a real headless Chromium: two circuits, two
/// users, chat through a room on the real Hubs server. Each page waits for its circuit before the first click.
/// </summary>
[NonParallelizable]
public sealed class BlazorSampleTests
{
    [Test]
    public async Task TwoCircuits_ChatThroughARoom()
    {
        await using var hubs = ServerProcess.Start("Development");
        var hubsUrl = (await hubs.ListeningAsync()).ToString().TrimEnd('/');
        var project = Path.Combine(Repository.Root, "samples", "Hubs.Samples.Blazor");
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/<configuration>/net10.0
        await using var sample = ServerProcess.Start(
            "Development",
            new Dictionary<string, string> { ["Hubs__Url"] = hubsUrl },
            dll: Path.Combine(project, "bin", configuration, "net10.0", "Hubs.Samples.Blazor.dll"),
            workingDirectory: project);
        var sampleUrl = (await sample.ListeningAsync()).ToString().TrimEnd('/');
        await using var browser = await BrowserSession.StartAsync();

        var carol = await SignedInAsync(browser, sampleUrl, "carol");
        var dave = await SignedInAsync(browser, sampleUrl, "dave");
        await carol.GetByTestId("new-room").FillAsync("blazor-room");
        await carol.GetByTestId("create").ClickAsync();
        await Expect(carol.GetByTestId("room-title")).ToHaveTextAsync("blazor-room");
        await Expect(carol.GetByTestId("member-count")).ToHaveTextAsync("1 member");
        await dave.GetByTestId("join-room").FillAsync("blazor-room");
        await dave.GetByTestId("join").ClickAsync();
        await Expect(dave.GetByTestId("room-title")).ToHaveTextAsync("blazor-room");
        await Expect(carol.GetByTestId("member-dave")).ToBeVisibleAsync();
        await Expect(carol.GetByTestId("member-count")).ToHaveTextAsync("2 members");
        await Expect(dave.GetByTestId("member-count")).ToHaveTextAsync("2 members");

        await carol.GetByTestId("text").FillAsync("hello from carol");
        await carol.GetByTestId("send").ClickAsync();
        await Expect(dave.GetByTestId("messages")).ToContainTextAsync("carol: hello from carol");
        await dave.GetByTestId("text").FillAsync("hello from dave");
        await dave.GetByTestId("send").ClickAsync();
        await Expect(carol.GetByTestId("messages")).ToContainTextAsync("dave: hello from dave");
        await BrowserSession.ScreenshotAsync(carol, "blazor-chat");
        Assert.Multiple(() =>
        {
            Assert.That(hubs.ErrorLines, Is.Empty, "Hubs logged no error");
            Assert.That(sample.ErrorLines, Is.Empty, "the sample logged no error");
        });
    }

    private static async Task<IPage> SignedInAsync(BrowserSession browser, string url, string name)
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(url + "/");

        // Interactive Server: clicks before the circuit is up are lost, so wait for it, never sleep.
        await Expect(page.GetByTestId("interactive")).ToBeVisibleAsync();
        await page.GetByTestId("name").FillAsync(name);
        await page.GetByTestId("signin").ClickAsync();
        await Expect(page.GetByTestId("state")).ToHaveTextAsync("Connected");
        return page;
    }
}
