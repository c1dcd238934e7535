using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>deploy/cluster.sh starts Redis and three nodes that work as one, and stops everything it started.</summary>
public sealed class ClusterScriptTests
{
    private sealed record TokenResponse(string Token);

    [Test]
    public async Task StartScript_ClientOnEachNode_TalkInOneRoomThenStopLeavesNothingRunning()
    {
        if (!File.Exists("/usr/bin/redis-server") && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Assert.Ignore("redis-server is not installed (./test.sh installs it)");
        }

        var directory = Directory.CreateTempSubdirectory("hubs-cluster-").FullName;
        var ports = FreePorts();
        var environment = new Dictionary<string, string>
        {
            ["HUBS_CLUSTER_DIR"] = directory,
            ["HUBS_BASE_PORT"] = ports[0].ToString(),
            ["HUBS_REDIS_PORT"] = ports[3].ToString(),
            ["HUBS_SERVER_DLL"] = Path.Combine(AppContext.BaseDirectory, "Hubs.Server.dll"),
        };
        var urls = Array.Empty<Uri>();
        var pids = Array.Empty<int>();
        try
        {
            var started = await RunScriptAsync("start", environment);
            Assert.That(started.ExitCode, Is.EqualTo(0), started.Output);
            urls = started.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => new Uri(l.Trim())).ToArray();
            pids = Directory.GetFiles(directory, "*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim())).ToArray();
            Assert.That(urls, Has.Length.EqualTo(3));
            Assert.That(pids, Has.Length.EqualTo(4), "redis and three nodes");

            var clients = new List<HubConnection>();
            var inboxes = new List<EventRecorder<RoomMessage>>();
            using var http = new HttpClient();
            for (var i = 0; i < urls.Length; i++)
            {
                // The token comes from node 1 for everyone: the nodes share one key.
                var token = (await (await http.PostAsJsonAsync(new Uri(urls[0], HubRoutes.DevToken), new { sub = $"user{i}" }))
                    .Content.ReadFromJsonAsync<TokenResponse>())!.Token;
                var client = new HubConnectionBuilder().WithUrl(new Uri(urls[i], HubRoutes.Rooms), o =>
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                    o.Transports = HttpTransportType.WebSockets;
                    o.SkipNegotiation = true;
                }).Build();
                inboxes.Add(new EventRecorder<RoomMessage>(client, nameof(IRoomClient.MessageReceived)));
                await client.StartAsync();
                clients.Add(client);
            }

            await clients[0].InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest("townhall", RoomPermission.Public));
            foreach (var client in clients)
            {
                await client.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), "townhall");
            }

            for (var i = 0; i < clients.Count; i++)
            {
                await clients[i].InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest("townhall", $"from node {i + 1}"));
            }

            foreach (var inbox in inboxes)
            {
                await inbox.WaitAsync(_ => inbox.Items.Count == 3);
                Assert.That(inbox.Items.Select(m => (m.Sequence, m.Text)), Is.EqualTo(new[] { (1L, "from node 1"), (2L, "from node 2"), (3L, "from node 3") }));
            }

            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
        finally
        {
            var stopped = await RunScriptAsync("stop", environment);
            Assert.That(stopped.ExitCode, Is.EqualTo(0), stopped.Output);
        }

        Assert.Multiple(() =>
        {
            Assert.That(pids.Where(IsRunning), Is.Empty, "every process the script started is gone");
            Assert.That(ports.Where(IsListening), Is.Empty, "no port is left open");
        });
        Directory.Delete(directory, recursive: true);
    }

    private static async Task<(int ExitCode, string Output)> RunScriptAsync(string command, IDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(Repository.Root, "deploy", "cluster.sh"));
        info.ArgumentList.Add(command);
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(40));
        return (process.ExitCode, await output + await error);
    }


    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Three consecutive free ports for the nodes (the script numbers them from a base) and one for Redis.</summary>
    private static int[] FreePorts()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var first = Random.Shared.Next(20_000, 40_000);
            var ports = new[] { first, first + 1, first + 2, first + 3 };
            if (ports.All(CanBind))
            {
                return ports;
            }
        }

        throw new InvalidOperationException("No four consecutive free ports found.");
    }

    private static bool CanBind(int port)
    {
        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
