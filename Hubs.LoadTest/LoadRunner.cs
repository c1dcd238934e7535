using System.Diagnostics;
using System.Globalization;
using Hubs.Client;
using Hubs.Contracts;

namespace Hubs.LoadTest;

/// <summary>Runs one scenario and measures it. Every scenario stops by itself, bounded in count and time.</summary>
internal sealed class LoadRunner(LoadOptions options, TextWriter progress)
{
    /// <summary>How long to wait for deliveries still on their way once the last send was acknowledged.</summary>
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(15);

    private readonly ErrorCounter _errors = new();
    private readonly LatencyRecorder _latency = new();
    private long _operations;
    private long _succeeded;
    private long _received;

    public async Task<LoadSummary> RunAsync(CancellationToken cancellationToken)
    {
        using var refusedReconnects = new RefusedReconnectCounter(_errors);
        await using var clients = new LoadClients(options, refusedReconnects);
        return options.Scenario switch
        {
            "fanout" => await FanoutAsync(clients, cancellationToken),
            "echo" => await EchoAsync(clients, cancellationToken),
            "idle" => await IdleAsync(clients, cancellationToken),
            "connect-join" => await ConnectJoinAsync(clients, cancellationToken),
            "churn" => await ChurnAsync(clients, cancellationToken),
            "storm" => await StormAsync(clients, cancellationToken),
            _ => throw new ArgumentException($"unknown scenario {options.Scenario}"),
        };
    }

    /// <summary>C receivers and S senders in one room; every message reaches every member. Latency from a timestamp in the text.</summary>
    private async Task<LoadSummary> FanoutAsync(LoadClients clients, CancellationToken cancellationToken)
    {
        var room = RoomId("fanout");
        var members = options.Clients + options.Senders;
        var all = await ConnectManyAsync(clients, members, i => i < options.Senders ? $"{options.RunId}-sender-{i}" : $"{options.RunId}-member-{i}", cancellationToken);
        await all[0].CreateRoom(new CreateRoomRequest(room, RoomPermission.Public, MaxMembers: members + 1), cancellationToken);
        foreach (var client in all)
        {
            client.OnMessageReceived(message =>
            {
                if (message.RoomId == room && TryReadTimestamp(message.Text, out var sent))
                {
                    _latency.Add(sent);
                    Interlocked.Increment(ref _received);
                }
            });
        }

        await ForEachAsync(all, options.Concurrency, (client, _) => client.JoinRoom(room, cancellationToken), cancellationToken, countsAsOperations: false);

        var expected = (long)options.Messages * members;
        var server = ServerUsage.Capture(options.ServerPids);
        var clock = Stopwatch.StartNew();
        using var reporting = Report(() => $"sent {Interlocked.Read(ref _operations)}/{options.Messages}, deliveries {Interlocked.Read(ref _received)}/{expected}, errors {_errors.Total}");
        long next = -1;
        var senders = all.Take(options.Senders).ToArray();
        await Task.WhenAll(senders.SelectMany(sender => Enumerable.Range(0, options.Window).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var n = Interlocked.Increment(ref next);
                if (n >= options.Messages || cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                if (options.Rate is { } rate)
                {
                    var due = TimeSpan.FromSeconds(n / rate) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, cancellationToken);
                    }
                }

                Interlocked.Increment(ref _operations);
                try
                {
                    await sender.SendMessage(new SendMessageRequest(room, $"{Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)}|load {n}"), cancellationToken);
                    Interlocked.Increment(ref _succeeded);
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    _errors.Add(error);
                }
            }
        }, cancellationToken))));

        // What was acknowledged is on its way to every member: wait for it, as long as it keeps arriving.
        var lastProgress = Stopwatch.StartNew();
        var seen = Interlocked.Read(ref _received);
        var target = Interlocked.Read(ref _succeeded) * members;
        while (Interlocked.Read(ref _received) < target && lastProgress.Elapsed < DrainWait && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(20, cancellationToken);
            var now = Interlocked.Read(ref _received);
            if (now != seen)
            {
                seen = now;
                lastProgress.Restart();
            }
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var deliveries = Interlocked.Read(ref _received);
        return Summarize(seconds, deliveries, "deliveries/s", server, deliveries) with { DeliveriesExpected = expected, DeliveriesReceived = deliveries };
    }

    /// <summary>Request/response throughput: every connection calls <c>GetRoom</c> (the full filter: auth, validation, limits, the room decision).</summary>
    private async Task<LoadSummary> EchoAsync(LoadClients clients, CancellationToken cancellationToken)
    {
        var room = RoomId("echo");
        var all = await ConnectManyAsync(clients, options.Clients, i => $"{options.RunId}-echo-{i}", cancellationToken);
        await all[0].CreateRoom(new CreateRoomRequest(room, RoomPermission.Public), cancellationToken);
        var server = ServerUsage.Capture(options.ServerPids);
        var clock = Stopwatch.StartNew();
        using var reporting = Report(() => $"calls {Interlocked.Read(ref _succeeded)}, errors {_errors.Total}");
        await Task.WhenAll(all.SelectMany(client => Enumerable.Range(0, options.Window).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < options.Duration && !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _operations);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await client.GetRoom(room, cancellationToken);
                    _latency.Add(started);
                    Interlocked.Increment(ref _succeeded);
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    _errors.Add(error);
                }
            }
        }, cancellationToken))));
        var seconds = clock.Elapsed.TotalSeconds;
        return Summarize(seconds, Interlocked.Read(ref _succeeded), "calls/s", server, Interlocked.Read(ref _succeeded));
    }

    /// <summary>K authenticated connections in rooms of <see cref="LoadOptions.RoomSize"/>, held for the duration: what an idle connection costs the server.</summary>
    private async Task<LoadSummary> IdleAsync(LoadClients clients, CancellationToken cancellationToken)
    {
        var (owner, rooms) = await OpenRoomsAsync(clients, "idle", cancellationToken);
        var before = ServerUsage.Capture(options.ServerPids);
        var clock = Stopwatch.StartNew();
        using var reporting = Report(() => $"connected {Interlocked.Read(ref _succeeded)}/{options.Connections}, errors {_errors.Total}");
        await ConnectAndJoinAllAsync(clients, rooms, "idle", cancellationToken);
        var connectSeconds = clock.Elapsed.TotalSeconds;
        var members = await MemberCountsAsync(owner, rooms, cancellationToken);
        var remaining = options.Duration - clock.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining, cancellationToken);
        }

        var after = ServerUsage.Capture(options.ServerPids);
        var connected = Interlocked.Read(ref _succeeded);
        return Summarize(connectSeconds, connected, "connections/s", before, connected, after) with
        {
            RoomMembers = members,
            RssBytesPerConnection = before is not null && after is not null && connected > 0 ? (after.RssBytes - before.RssBytes) / (double)connected : null,
        };
    }

    /// <summary>Connect, authenticate and join a room of <see cref="LoadOptions.RoomSize"/>, as fast as the server takes them.</summary>
    private async Task<LoadSummary> ConnectJoinAsync(LoadClients clients, CancellationToken cancellationToken)
    {
        var (owner, rooms) = await OpenRoomsAsync(clients, "connect", cancellationToken);
        var server = ServerUsage.Capture(options.ServerPids);
        var clock = Stopwatch.StartNew();
        using var reporting = Report(() => $"joined {Interlocked.Read(ref _succeeded)}/{options.Connections}, errors {_errors.Total}");
        await ConnectAndJoinAllAsync(clients, rooms, "connect", cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        var after = ServerUsage.Capture(options.ServerPids);
        return Summarize(seconds, Interlocked.Read(ref _succeeded), "joins/s", server, Interlocked.Read(ref _succeeded), after) with
        {
            RoomMembers = await MemberCountsAsync(owner, rooms, cancellationToken),
        };
    }

    /// <summary>Connect, join, leave, disconnect, over and over: what presence bookkeeping costs, and that it leaks nothing.</summary>
    private async Task<LoadSummary> ChurnAsync(LoadClients clients, CancellationToken cancellationToken)
    {
        var room = await OpenRoomAsync(clients, "churn", options.Concurrency + 1, cancellationToken);
        var server = ServerUsage.Capture(options.ServerPids);
        var clock = Stopwatch.StartNew();
        using var reporting = Report(() => $"cycles {Interlocked.Read(ref _succeeded)}/{options.Cycles}, errors {_errors.Total}");
        await ForEachAsync(Enumerable.Range(0, options.Cycles), options.Concurrency, async (i, ct) =>
        {
            var started = Stopwatch.GetTimestamp();
            await using var client = clients.Create($"{options.RunId}-churn-{i % options.Concurrency}");
            await client.StartAsync(ct);
            await client.JoinRoom(room, ct);
            await client.LeaveRoom(room, ct);
            await client.StopAsync(ct);
            _latency.Add(started);
        }, cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        return Summarize(seconds, Interlocked.Read(ref _succeeded), "cycles/s", server, Interlocked.Read(ref _succeeded));
    }

    /// <summary>
    /// Every client on the first URL (the victim) in rooms of <see cref="LoadOptions.RoomSize"/>, one sender per room on
    /// the other nodes. The victim is killed (or drained); from the signal on, the clock runs until every client is back
    /// on a survivor with its room rejoined, and then until each has the message its room's sender sent after the signal.
    /// </summary>
    private async Task<LoadSummary> StormAsync(LoadClients clients, CancellationToken cancellationToken)
    {
        var victim = options.Urls[0];
        var survivors = options.Urls.Count - 1;
        var count = options.Connections;
        var (_, rooms) = await OpenRoomsAsync(clients, "storm", cancellationToken, ownerUrl: 1);
        var senders = await ConnectManyAsync(clients, rooms.Length, r => $"{options.RunId}-storm-sender-{r}", cancellationToken, r => 1 + (r % survivors));
        await ForEachAsync(Enumerable.Range(0, rooms.Length), options.Concurrency, (r, ct) => senders[r].JoinRoom(rooms[r], ct), cancellationToken, countsAsOperations: false);
        var members = await ConnectManyAsync(clients, count, i => $"{options.RunId}-storm-{i}", cancellationToken, _ => 0);
        var probe = $"storm {options.RunId}";
        var received = new int[count];
        for (var i = 0; i < count; i++)
        {
            var (member, room) = (i, rooms[RoomIndex(i)]);
            members[i].OnMessageReceived(message =>
            {
                if (message.RoomId == room && message.Text == probe && Interlocked.Exchange(ref received[member], 1) == 0)
                {
                    Interlocked.Increment(ref _received);
                }
            });
            members[i].OnRecoveryIncomplete(_ => _errors.Add("recovery_incomplete"));
            members[i].OnRemovedFromRoom(removal => _errors.Add($"removed_{removal.Reason}"));
        }

        await ForEachAsync(Enumerable.Range(0, count), options.Concurrency, (i, ct) => members[i].JoinRoom(rooms[RoomIndex(i)], ct), cancellationToken, countsAsOperations: false);
        bool IsBack(int i) =>
            members[i].State == HubsConnectionState.Connected && members[i].ConnectedUrl != victim && members[i].JoinedRooms.Contains(rooms[RoomIndex(i)]);

        var onVictim = members.Count(m => m.ConnectedUrl == victim);
        var before = ServerUsage.Capture(options.ServerPids);
        var clock = Stopwatch.StartNew();
        VictimProcess.Signal(options.VictimPid!.Value, options.Drain);
        var sends = Task.WhenAll(senders.Select(async (sender, r) =>
        {
            try
            {
                await sender.SendMessage(new SendMessageRequest(rooms[r], probe), cancellationToken);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                _errors.Add(error);
            }
        }));

        var back = 0;
        double? backSeconds = null;
        double? receivedSeconds = null;
        using (Report(() => $"back {Volatile.Read(ref back)}/{count}, received {Interlocked.Read(ref _received)}/{count}, errors {_errors.Total}"))
        {
            while (receivedSeconds is null && clock.Elapsed < options.Duration && !cancellationToken.IsCancellationRequested)
            {
                Volatile.Write(ref back, Enumerable.Range(0, count).Count(IsBack));
                if (backSeconds is null && back == count)
                {
                    backSeconds = clock.Elapsed.TotalSeconds;
                }

                if (backSeconds is not null && Interlocked.Read(ref _received) == count)
                {
                    receivedSeconds = clock.Elapsed.TotalSeconds;
                    break;
                }

                await Task.Delay(20, cancellationToken);
            }
        }

        await sends;
        var seconds = receivedSeconds ?? clock.Elapsed.TotalSeconds;
        return Summarize(seconds, back, "reconnects/s", before, back) with
        {
            Operations = count,
            Succeeded = back,
            Throughput = backSeconds is > 0 ? count / backSeconds.Value : 0,
            DeliveriesExpected = count,
            DeliveriesReceived = Interlocked.Read(ref _received),
            Storm = new StormResult(count, onVictim, back, backSeconds, receivedSeconds, options.Duration),
        };
    }

    private static bool TryReadTimestamp(string text, out long timestamp)
    {
        var bar = text.IndexOf('|');
        return long.TryParse(bar > 0 ? text.AsSpan(0, bar) : text, NumberStyles.Integer, CultureInfo.InvariantCulture, out timestamp);
    }

    private string RoomId(string kind) => $"load-{kind}-{options.RunId}";

    /// <summary>Creates the run's public room for <paramref name="kind"/> through an owner connection of its own.</summary>
    private async Task<string> OpenRoomAsync(LoadClients clients, string kind, int maxMembers, CancellationToken cancellationToken)
    {
        var room = RoomId(kind);
        var owner = await clients.ConnectAsync($"{options.RunId}-{kind}-owner", cancellationToken);
        await owner.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public, MaxMembers: maxMembers), cancellationToken);
        return room;
    }

    /// <summary>
    /// Creates the run's public rooms for <paramref name="kind"/>, one per <see cref="LoadOptions.RoomSize"/> connections
    /// (one in all for 0), through an owner connection of its own (on <paramref name="ownerUrl"/> when given).
    /// </summary>
    private async Task<(HubsClient Owner, string[] Rooms)> OpenRoomsAsync(LoadClients clients, string kind, CancellationToken cancellationToken, int? ownerUrl = null)
    {
        var count = options.RoomSize == 0 ? 1 : (options.Connections + options.RoomSize - 1) / options.RoomSize;
        var maxMembers = (options.RoomSize == 0 ? options.Connections : options.RoomSize) + 1;
        var owner = await clients.ConnectAsync($"{options.RunId}-{kind}-owner", cancellationToken, ownerUrl);
        var rooms = Enumerable.Range(0, count).Select(r => $"{RoomId(kind)}-{r.ToString(CultureInfo.InvariantCulture)}").ToArray();
        foreach (var room in rooms)
        {
            await owner.CreateRoom(new CreateRoomRequest(room, RoomPermission.Public, MaxMembers: maxMembers), cancellationToken);
        }

        return (owner, rooms);
    }

    /// <summary>The room of connection <paramref name="connection"/>: connections i*N to i*N+N-1 share room i.</summary>
    private int RoomIndex(int connection) => options.RoomSize == 0 ? 0 : connection / options.RoomSize;

    /// <summary>Each room's member count as the server reports it.</summary>
    private static async Task<IReadOnlyList<int>> MemberCountsAsync(HubsClient owner, string[] rooms, CancellationToken cancellationToken)
    {
        var counts = new int[rooms.Length];
        for (var r = 0; r < rooms.Length; r++)
        {
            counts[r] = (await owner.GetRoom(rooms[r], cancellationToken)).MemberCount;
        }

        return counts;
    }

    private async Task<HubsClient[]> ConnectManyAsync(
        LoadClients clients, int count, Func<int, string> user, CancellationToken cancellationToken, Func<int, int>? firstUrl = null)
    {
        var connected = new HubsClient[count];
        await ForEachAsync(Enumerable.Range(0, count), options.Concurrency, async (i, ct) => connected[i] = await clients.ConnectAsync(user(i), ct, firstUrl?.Invoke(i)), cancellationToken, countsAsOperations: false);
        if (connected.Any(c => c is null))
        {
            throw new InvalidOperationException($"only {connected.Count(c => c is not null)} of {count} clients connected; errors: " +
                string.Join(", ", _errors.Snapshot().Select(e => $"{e.Key} {e.Value}")));
        }

        return connected;
    }

    /// <summary><see cref="LoadOptions.Connections"/> users each connect and join their room of <paramref name="rooms"/>, timed from connect to joined.</summary>
    private Task ConnectAndJoinAllAsync(LoadClients clients, string[] rooms, string tag, CancellationToken cancellationToken) =>
        ForEachAsync(Enumerable.Range(0, options.Connections), options.Concurrency, async (i, ct) =>
        {
            var started = Stopwatch.GetTimestamp();
            var client = await clients.ConnectAsync($"{options.RunId}-{tag}-{i}", ct);
            await client.JoinRoom(rooms[RoomIndex(i)], ct);
            _latency.Add(started);
        }, cancellationToken);

    /// <summary>Runs <paramref name="work"/> for each item, <paramref name="parallel"/> at a time; failures are counted, not thrown.</summary>
    private async Task ForEachAsync<T>(IEnumerable<T> items, int parallel, Func<T, CancellationToken, Task> work, CancellationToken cancellationToken, bool countsAsOperations = true)
    {
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (item, ct) =>
        {
            if (countsAsOperations)
            {
                Interlocked.Increment(ref _operations);
            }

            try
            {
                await work(item, ct);
                if (countsAsOperations)
                {
                    Interlocked.Increment(ref _succeeded);
                }
            }
            catch (Exception error) when (error is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                _errors.Add(error);
            }
        });
    }

    private LoadSummary Summarize(double seconds, long count, string unit, ServerUsage? before, long serverCount, ServerUsage? after = null)
    {
        after ??= ServerUsage.Capture(options.ServerPids);
        var cpu = before is not null && after is not null ? after.CpuSeconds - before.CpuSeconds : (double?)null;
        return new LoadSummary
        {
            Scenario = options.Scenario,
            Seconds = seconds,
            Operations = Interlocked.Read(ref _operations),
            Succeeded = Interlocked.Read(ref _succeeded),
            Throughput = seconds > 0 ? count / seconds : 0,
            ThroughputUnit = unit,
            Latency = _latency.Summarize(),
            Errors = _errors.Snapshot(),
            ServerCpuSeconds = cpu,
            ServerRssBytes = after?.RssBytes,
            PerServerCpuSecond = cpu is > 0 ? serverCount / cpu : null,
        };
    }

    /// <summary>A progress line every second until disposed.</summary>
    private IDisposable Report(Func<string> line)
    {
        if (options.Quiet)
        {
            return new CancellationTokenSource();
        }

        var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        _ = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    await progress.WriteLineAsync($"[{clock.Elapsed.TotalSeconds,5:0}s] {line()}");
                }
            }
            catch (OperationCanceledException)
            {
                // The scenario finished.
            }
        });
        return new Stop(stop);
    }

    private sealed class Stop(CancellationTokenSource source) : IDisposable
    {
        public void Dispose() => source.Cancel();
    }
}
