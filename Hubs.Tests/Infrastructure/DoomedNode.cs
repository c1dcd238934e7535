using Hubs.Contracts;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// One more node of a cluster as its own process, there to be killed with SIGKILL: users connected to it are in a
/// room with a watcher on each of the fixture's first two nodes (or twice on a single one), whose presence events are
/// recorded.
/// </summary>
internal sealed class DoomedNode(ServerProcess process, string room, HubConnection[] watchers, EventRecorder<UserPresenceEvent>[] left) : IAsyncDisposable
{
    public ServerProcess Process { get; } = process;

    public string Room { get; } = room;

    public IReadOnlyList<HubConnection> Watchers { get; } = watchers;

    /// <summary><c>UserLeft</c> as each watcher heard it.</summary>
    public IReadOnlyList<EventRecorder<UserPresenceEvent>> Left { get; } = left;

    /// <summary>
    /// Starts the node on <paramref name="redis"/>, makes the room, and connects <paramref name="doomed"/> to the node
    /// and into the room; returns once every watcher heard each of them join.
    /// </summary>
    public static async Task<DoomedNode> StartAsync(
        string redis, int presenceTimeoutSeconds, Func<int, string, Task<HubConnection>> connectWatcher, Func<HubConnection, HubConnection> track, params string[] doomed)
    {
        var process = ServerProcess.Start("Development", new Dictionary<string, string>
        {
            ["Redis__Configuration"] = redis,
            ["Hubs__Presence__TimeoutSeconds"] = presenceTimeoutSeconds.ToString(),
            ["Auth__SigningKey"] = TestTokens.SigningKey,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
        });
        var url = new Uri(await process.ListeningAsync(), HubRoutes.Rooms);
        var room = $"room-{Guid.NewGuid():N}"[..17];
        var watchers = new[] { await connectWatcher(0, "watcher-a"), await connectWatcher(1, "watcher-b") };
        var joined = watchers.Select(w => new EventRecorder<UserPresenceEvent>(w, nameof(IRoomClient.UserJoined))).ToArray();
        var left = watchers.Select(w => new EventRecorder<UserPresenceEvent>(w, nameof(IRoomClient.UserLeft))).ToArray();
        await watchers[0].InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var watcher in watchers)
        {
            await watcher.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        foreach (var user in doomed)
        {
            var connection = track(new HubConnectionBuilder()
                .WithUrl(url, o =>
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For(user));
                    o.Transports = HttpTransportType.WebSockets;
                    o.SkipNegotiation = true;
                })
                .WithKeepAliveInterval(TimeSpan.FromSeconds(1))
                .Build());
            await connection.StartAsync();
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        foreach (var recorder in joined)
        {
            await recorder.WaitAsync(_ => recorder.Items.Count(e => doomed.Contains(e.UserId)) == doomed.Length);
        }

        return new DoomedNode(process, room, watchers, left);
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
