using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests.Integration.Deploy;

/// <summary>
/// The packages as an app team gets them: <c>dotnet pack</c> makes Hubs.Contracts and Hubs.Client, <c>npm pack</c>
/// makes @hubs/client; a fresh console project restores the .nupkg from a local folder feed, a fresh node project
/// installs the .tgz, and each talks to a running server.
/// </summary>
[NonParallelizable]
public sealed class PackageConsumerTests
{
    private string _feed = null!;
    private string _version = null!;

    [OneTimeSetUp]
    public async Task PackAsync()
    {
        _feed = Directory.CreateTempSubdirectory("hubs-feed-").FullName;

        // A version of its own per run, so that no cached package of an earlier run stands in for this build.
        _version = $"{PackageVersion()}-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        foreach (var project in new[] { "Hubs.Contracts", "Hubs.Client" })
        {
            await RunAsync("dotnet", Repository.Root, ["pack", project, "-c", "Release", "-o", _feed, $"-p:Version={_version}", "--nologo"]);
        }

        await RunAsync("npm", Path.Combine(Repository.Root, "Hubs.Client", "typescript"), ["pack", "--pack-destination", _feed, "--silent"]);
    }

    [OneTimeTearDown]
    public void CleanUp()
    {
        Directory.Delete(_feed, recursive: true);

        // The consumer's restore put this run's versions into the global packages folder; nothing else will use them.
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in new[] { "hubs.contracts", "hubs.client" })
        {
            var restored = Path.Combine(packages, id, _version.ToLowerInvariant());
            if (Directory.Exists(restored))
            {
                Directory.Delete(restored, recursive: true);
            }
        }
    }

    [Test]
    public void TheVersionComesFromOnePlace()
    {
        using var package = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repository.Root, "Hubs.Client", "typescript", "package.json")));

        Assert.Multiple(() =>
        {
            Assert.That(package.RootElement.GetProperty("version").GetString(), Is.EqualTo(PackageVersion()), "package.json matches Directory.Build.props");
            Assert.That(Directory.GetFiles(_feed, "*.nupkg").Select(Path.GetFileName), Is.EquivalentTo(new[] { $"Hubs.Contracts.{_version}.nupkg", $"Hubs.Client.{_version}.nupkg" }));
            Assert.That(Directory.GetFiles(_feed, "*.snupkg"), Has.Length.EqualTo(2), "symbols");
        });
    }

    [TestCase("Hubs.Contracts")]
    [TestCase("Hubs.Client")]
    public void ThePackage_CarriesTheReadme_TheXmlDocs_AndItsSymbols(string id)
    {
        using var package = ZipFile.OpenRead(Path.Combine(_feed, $"{id}.{_version}.nupkg"));
        using var symbols = ZipFile.OpenRead(Path.Combine(_feed, $"{id}.{_version}.snupkg"));
        using var nuspec = new StreamReader(package.GetEntry($"{id}.nuspec")!.Open());
        var manifest = nuspec.ReadToEnd();

        Assert.Multiple(() =>
        {
            Assert.That(package.Entries.Select(e => e.FullName), Is.SupersetOf(new[] { "README.md", $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml" }));
            Assert.That(manifest, Does.Contain("<readme>README.md</readme>").And.Contain($"<version>{_version}</version>"));
            Assert.That(symbols.Entries.Select(e => e.FullName), Does.Contain($"lib/net10.0/{id}.pdb"));
        });
    }

    [Test]
    public async Task FreshConsoleProject_RestoresTheNupkg_AndTalksToTheServer()
    {
        await using var server = ServerProcess.Start("Development", TestSigning);
        var url = await server.ListeningAsync();
        var app = Directory.CreateTempSubdirectory("hubs-consumer-").FullName;
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Hubs.Client" Version="{_version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <configuration>
              <packageSources>
                <!-- The local feed alone: Hubs' dependencies come from the global packages folder the build filled, so
                     this works offline and never waits on a remote source. -->
                <clear />
                <add key="hubs-local" value="{_feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Hubs.Client;
            using Hubs.Contracts;

            await using var client = new HubsClient(new HubsClientOptions
            {
                Url = new Uri(Environment.GetEnvironmentVariable("HUBS_URL")!),
                AccessTokenProvider = _ => ValueTask.FromResult<string?>(Environment.GetEnvironmentVariable("HUBS_TOKEN")),
            });
            await client.StartAsync();
            await client.CreateRoom(new CreateRoomRequest("package-room", RoomPermission.Public));
            await client.JoinRoom("package-room");
            var sent = await client.SendMessage(new SendMessageRequest("package-room", "from a package"));
            Console.WriteLine($"sequence={sent.Sequence}");
            """);

        try
        {
            var output = await RunAsync("dotnet", app, ["run", "--nologo"], new()
            {
                ["HUBS_URL"] = new Uri(url, "/hubs/rooms").ToString(),
                ["HUBS_TOKEN"] = TestTokens.For("package-user"),
            });
            Assert.That(output, Does.Contain("sequence=1"));
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    [Test]
    public async Task FreshNodeProject_InstallsTheTgz_AndTalksToTheServer()
    {
        await using var server = ServerProcess.Start("Development", TestSigning);
        var url = await server.ListeningAsync();
        var app = Directory.CreateTempSubdirectory("hubs-node-consumer-").FullName;
        var tarball = Directory.GetFiles(_feed, "*.tgz").Single();
        File.WriteAllText(Path.Combine(app, "package.json"), JsonSerializer.Serialize(new
        {
            name = "consumer",
            @private = true,
            type = "module",
            dependencies = new Dictionary<string, string> { ["@hubs/client"] = $"file:{tarball}" },
        }));
        File.WriteAllText(Path.Combine(app, "index.mjs"), """
            import { HubsClient, RoomPermission } from "@hubs/client";
            const client = new HubsClient({ url: process.env.HUBS_URL, accessTokenProvider: () => process.env.HUBS_TOKEN, useTickets: false });
            await client.start();
            await client.createRoom({ roomId: "npm-room", permission: RoomPermission.Public });
            await client.joinRoom("npm-room");
            const sent = await client.sendMessage({ roomId: "npm-room", text: "from the tarball" });
            console.log(`sequence=${sent.sequence}`);
            await client.stop();
            """);

        try
        {
            // --prefer-offline: @microsoft/signalr from the cache `npm ci` filled, so this works offline (without it npm
            // revalidates with the registry and, offline, retries for minutes).
            await RunAsync("npm", app, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--silent"]);
            var output = await RunAsync("node", app, ["index.mjs"], new()
            {
                ["HUBS_URL"] = new Uri(url, "/hubs/rooms").ToString(),
                ["HUBS_TOKEN"] = TestTokens.For("npm-user"),
            });
            var installed = Path.Combine(app, "node_modules", "@hubs", "client");
            Assert.Multiple(() =>
            {
                Assert.That(output, Does.Contain("sequence=1"));
                Assert.That(Path.Combine(installed, "dist", "index.d.ts"), Does.Exist, "type declarations");
                Assert.That(Path.Combine(installed, "README.md"), Does.Exist, "a package README, as the NuGet packages have");
            });
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    private static Dictionary<string, string> TestSigning => new()
    {
        ["Auth__SigningKey"] = TestTokens.SigningKey,
        ["Auth__Issuer"] = TestTokens.Issuer,
        ["Auth__Audience"] = TestTokens.Audience,
    };

    private static string PackageVersion()
    {
        var props = File.ReadAllText(Path.Combine(Repository.Root, "Directory.Build.props"));
        var start = props.IndexOf("<Version>", StringComparison.Ordinal) + "<Version>".Length;
        return props[start..props.IndexOf("</Version>", start, StringComparison.Ordinal)];
    }

    private static async Task<string> RunAsync(string command, string directory, string[] arguments, Dictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(command) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? [])
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var text = await output + await error;
        Assert.That(process.ExitCode, Is.Zero, $"{command} {string.Join(' ', arguments)}:\n{text}");
        return text;
    }
}
