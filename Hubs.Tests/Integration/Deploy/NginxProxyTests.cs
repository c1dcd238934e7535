using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Hubs.Client;
using Hubs.Contracts;
using Hubs.Server.Presence;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration.Deploy;

/// <summary>
/// The repository's nginx config (deploy/nginx/hubs.conf) run by a real nginx in front of two nodes on loopback:
/// HubsClient connects through it over WebSockets with skipNegotiation (no sticky sessions), lands on both nodes, and a
/// room spanning them works both ways.
/// </summary>
[NonParallelizable]
public sealed partial class NginxProxyTests : ClusterFixture
{
    protected override int NodeCount => 2;

    [Test]
    public async Task ThroughNginx_WebSocketsWithoutNegotiation_ARoomAcrossBothNodes()
    {
        await using var nginx = await NginxProcess.StartAsync(Nodes.Select(n => n.BaseAddress).ToArray());
        var url = new Uri(nginx.BaseAddress, HubRoutes.Rooms);
        await using var alice = await StartAsync(url, "nginx-alice");
        await using var bob = await StartAsync(url, "nginx-bob");
        int[] PerNode() => [.. Nodes.Select(n => n.Services.GetRequiredService<LocalConnections>().Count)];

        // A node counts a connection once its OnConnectedAsync ran, just after the handshake the client waited for.
        await Await.UntilAsync(() => PerNode().Sum() == 2, "both connections are open on the nodes");
        var perNode = PerNode();

        var atBob = new TaskCompletionSource<RoomMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        var atAlice = new TaskCompletionSource<RoomMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var bobSubscription = bob.OnMessageReceived(m => atBob.TrySetResult(m));
        using var aliceSubscription = alice.OnMessageReceived(m =>
        {
            if (m.SenderId == "nginx-bob")
            {
                atAlice.TrySetResult(m);
            }
        });
        var room = NewRoomId("nginx");
        await alice.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public));
        await alice.JoinRoom(room);
        await bob.JoinRoom(room);
        await alice.SendMessage(new SendMessageRequest(room, "through the proxy"));
        await bob.SendMessage(new SendMessageRequest(room, "and back"));

        Assert.Multiple(async () =>
        {
            Assert.That(perNode, Is.All.EqualTo(1), "nginx spread the two connections over both nodes");
            Assert.That((await atBob.Task.WaitAsync(Await.Timeout)).Text, Is.EqualTo("through the proxy"));
            Assert.That((await atAlice.Task.WaitAsync(Await.Timeout)).Text, Is.EqualTo("and back"));
        });
    }

    private static async Task<HubsClient> StartAsync(Uri url, string userId)
    {
        var client = new HubsClient(new HubsClientOptions
        {
            Url = url,
            AccessTokenProvider = _ => ValueTask.FromResult<string?>(TestTokens.For(userId)),
            SkipNegotiation = true,
            Transports = HttpTransportType.WebSockets,
        });
        await client.StartAsync();
        return client;
    }

    /// <summary>nginx in the foreground with the repository's server config, its upstreams and port set for this test.</summary>
    private sealed partial class NginxProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;

        private NginxProcess(Process process, string directory, Uri baseAddress)
        {
            _process = process;
            _directory = directory;
            BaseAddress = baseAddress;
        }

        public Uri BaseAddress { get; }

        public static async Task<NginxProcess> StartAsync(IReadOnlyList<Uri> nodes)
        {
            var nginx = new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);
            if (nginx is null)
            {
                const string why = "nginx is not installed (./test.sh installs it)";
                if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
                {
                    Assert.Fail(why);
                }

                Assert.Ignore(why);
            }

            var directory = Directory.CreateTempSubdirectory("hubs-nginx-").FullName;
            var port = RedisServer.FreePort();
            var server = File.ReadAllText(Path.Combine(Repository.Root, "deploy", "nginx", "hubs.conf"));
            server = UpstreamServers().Replace(server, string.Concat(nodes.Select(n => $"    server {n.Authority};\n")));
            server = Listen().Replace(server, $"    listen 127.0.0.1:{port};");
            server = AccessLog().Replace(server, $"    access_log {directory}/access.log hubs;");
            File.WriteAllText(Path.Combine(directory, "hubs.conf"), server);
            File.WriteAllText(Path.Combine(directory, "nginx.conf"), $$"""
                pid {{directory}}/nginx.pid;
                error_log stderr warn;
                events { worker_connections 256; }
                http {
                  client_body_temp_path {{directory}}/body;
                  proxy_temp_path {{directory}}/proxy;
                  fastcgi_temp_path {{directory}}/fastcgi;
                  uwsgi_temp_path {{directory}}/uwsgi;
                  scgi_temp_path {{directory}}/scgi;
                  include {{directory}}/hubs.conf;
                }
                """);
            var info = new ProcessStartInfo(nginx)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "-p", directory, "-c", Path.Combine(directory, "nginx.conf"), "-g", "daemon off; master_process off;" })
            {
                info.ArgumentList.Add(argument);
            }

            var process = Process.Start(info)!;
            var proxy = new NginxProcess(process, directory, new Uri($"http://127.0.0.1:{port}/"));
            await Await.UntilAsync(() => process.HasExited || Listening(port), "nginx listens");
            if (process.HasExited)
            {
                Assert.Fail($"nginx exited: {await process.StandardError.ReadToEndAsync()}");
            }

            return proxy;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            Directory.Delete(_directory, recursive: true);
        }

        private static bool Listening(int port)
        {
            try
            {
                using var socket = new TcpClient();
                socket.Connect("127.0.0.1", port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }

        [GeneratedRegex(@"(?<=upstream hubs \{\n)(\s*server [^\n]*\n)+")]
        private static partial Regex UpstreamServers();

        [GeneratedRegex(@"^\s*listen [^;\n]+;", RegexOptions.Multiline)]
        private static partial Regex Listen();

        [GeneratedRegex(@"^\s*access_log [^;\n]+;", RegexOptions.Multiline)]
        private static partial Regex AccessLog();
    }
}
