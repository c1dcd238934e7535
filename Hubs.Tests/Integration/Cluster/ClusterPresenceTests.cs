using Hubs.Contracts;
using Hubs.Server.Presence;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>Presence and caps across nodes: decided once in Redis, and nothing left behind.</summary>
public sealed class ClusterPresenceTests : ClusterFixture
{
    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Hubs:Limits:MaxConnectionsPerUser"] = "3",
        ["Hubs:Limits:MessagesPerSecondPerUserPerRoom"] = "2",
    };

    [Test]
    public async Task T13_MessageBudget_OneUserOnThreeNodes_SharesOneBudget()
    {
        var room = NewRoomId();
        var connections = new[] { await ConnectAsync(0, "chatty"), await ConnectAsync(1, "chatty"), await ConnectAsync(2, "chatty") };
        await connections[0].InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var connection in connections)
        {
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        var accepted = 0;
        var refused = 0;
        for (var i = 0; i < 12; i++)
        {
            try
            {
                await connections[i % 3].InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, $"m{i}"));
                accepted++;
            }
            catch (Microsoft.AspNetCore.SignalR.HubException error) when (error.Message.StartsWith(ErrorCodes.RateLimited, StringComparison.Ordinal))
            {
                refused++;
            }
        }

        // Burst 4 for the user in the room, wherever the user's connections are; per node it would have been 4 each.
        Assert.That(accepted, Is.InRange(4, 5), "one budget across nodes (a token may refill during the loop)");
        Assert.That(refused, Is.EqualTo(12 - accepted));
    }

    [Test]
    public async Task Send_DecidedByMembershipInRedis_RefusalsAnswerLikeTheFilter_AndSpendNoBudget()
    {
        var room = NewRoomId();
        var hidden = NewRoomId();
        var owner = await ConnectAsync(0, "host");
        var member = await ConnectAsync(1, "guest");
        var outsider = await ConnectAsync(2, "guest");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(hidden, RoomPermission.Private));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await member.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        async Task<string> SendAsync(HubConnection connection, string roomId, string text)
        {
            try
            {
                await connection.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(roomId, text));
                return "ok";
            }
            catch (Microsoft.AspNetCore.SignalR.HubException error)
            {
                return error.Message[..error.Message.IndexOf(':', StringComparison.Ordinal)];
            }
        }

        // The same user's other connection is not in the room: forbidden, and its refusals spend none of the budget.
        var notJoined = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            notJoined.Add(await SendAsync(outsider, room, $"no {i}"));
        }

        var invisible = await SendAsync(outsider, hidden, "no");
        var joined = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            joined.Add(await SendAsync(member, room, $"yes {i}"));
        }

        // Kicked on node 0 while connected to node 1: the next send is refused as for a room it cannot see.
        await owner.InvokeAsync(nameof(IRoomHub.KickUser), room, "guest");
        var afterKick = await SendAsync(member, room, "after kick");
        var history = await owner.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room));

        Assert.Multiple(() =>
        {
            Assert.That(notJoined, Is.All.EqualTo(ErrorCodes.Forbidden));
            Assert.That(invisible, Is.EqualTo(ErrorCodes.NotFound));
            Assert.That(joined, Is.All.EqualTo("ok"), "the budget (burst 4) was untouched by the refused sends");
            Assert.That(afterKick, Is.EqualTo(ErrorCodes.NotFound));
            Assert.That(history.Select(m => m.Text), Is.EqualTo(new[] { "yes 0", "yes 1", "yes 2", "yes 3" }));
        });
    }

    [Test]
    public async Task T4_TicketIssuedOnOneNode_RedeemableOnAnotherExactlyOnce()
    {
        using var http = new System.Net.Http.HttpClient();
        using var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, new Uri(Nodes[0].BaseAddress, HubRoutes.Ticket));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestTokens.For("traveller"));
        var response = await http.SendAsync(request);
        var ticket = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("ticket").GetString()!;

        await using (await RawHubSocket.ConnectAsync(Nodes[1].HubUrl, ticket))
        {
        }

        Assert.That(async () => await RawHubSocket.ConnectAsync(Nodes[2].HubUrl, ticket), Throws.InstanceOf<System.Net.WebSockets.WebSocketException>(),
            "used once, anywhere");
    }

    [Test]
    public async Task T18_SameUserOnTwoNodesAtOnce_FiftyRounds_OneUserJoinedAndOneUserLeftEachRound()
    {
        var room = NewRoomId();
        var observer = await ConnectAsync(2, "observer");
        var joined = new EventRecorder<UserPresenceEvent>(observer, nameof(IRoomClient.UserJoined));
        var left = new EventRecorder<UserPresenceEvent>(observer, nameof(IRoomClient.UserLeft));
        await observer.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await observer.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        for (var round = 1; round <= 50; round++)
        {
            var twins = new[] { Nodes[0].Connection(TestTokens.For("twin")), Nodes[1].Connection(TestTokens.For("twin")) };
            await Task.WhenAll(twins.Select(async c =>
            {
                await c.StartAsync();
                await c.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
            }));
            var views = await Task.WhenAll(Nodes.Select((_, i) => (i < 2 ? twins[i] : observer)
                .InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room)));
            Assert.That(views.Select(v => string.Join(",", v.Select(m => m.UserId))), Has.All.EqualTo("observer,twin"), $"round {round}: nodes agree");

            await Task.WhenAll(twins.Select(c => c.DisposeAsync().AsTask()));
            var expected = round;
            await left.WaitAsync(_ => left.Items.Count >= expected);
            await observer.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
            Assert.That((joined.Items.Count(e => e.UserId == "twin"), left.Items.Count), Is.EqualTo((round, round)), $"round {round}: once each (T18)");
        }
    }

    [Test]
    public async Task T17_JoinLeaveDisconnectStorm_AcrossNodes_EndsWithExactMembershipOnEveryNodeAndBalancedEvents()
    {
        var room = NewRoomId();
        var observer = await ConnectAsync(0, "observer");
        var joinedEvents = new EventRecorder<UserPresenceEvent>(observer, nameof(IRoomClient.UserJoined));
        var leftEvents = new EventRecorder<UserPresenceEvent>(observer, nameof(IRoomClient.UserLeft));
        await observer.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await observer.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var users = Enumerable.Range(0, 6).Select(i => $"stormer{i}").ToArray();
        var connections = new List<(string User, HubConnection Connection)>();
        foreach (var user in users)
        {
            // Two connections per user, on different nodes.
            connections.Add((user, await ConnectAsync(connections.Count % 3, user)));
            connections.Add((user, await ConnectAsync(connections.Count % 3, user)));
        }

        await Task.WhenAll(connections.Select(async c =>
        {
            for (var i = 0; i < 10; i++)
            {
                await c.Connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
                await c.Connection.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
            }

            await c.Connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }));

        // Users 0-2 lose both connections (one disconnects, one leaves), users 3-5 keep one.
        await Task.WhenAll(connections.Select((c, i) => i switch
        {
            _ when Array.IndexOf(users, c.User) < 3 && i % 2 == 0 => c.Connection.StopAsync(),
            _ when Array.IndexOf(users, c.User) < 3 => c.Connection.InvokeAsync(nameof(IRoomHub.LeaveRoom), room),
            _ when i % 2 == 0 => c.Connection.StopAsync(),
            _ => Task.CompletedTask,
        }));
        var expected = users.Skip(3).Append("observer").Order().ToArray();
        await leftEvents.WaitAsync(_ => users.Take(3).All(u => leftEvents.Items.Count(e => e.UserId == u) == joinedEvents.Items.Count(e => e.UserId == u)));

        var views = new List<string[]>();
        for (var node = 0; node < 3; node++)
        {
            var viewer = await ConnectAsync(node, $"viewer{node}");
            await viewer.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
            var members = await viewer.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
            views.Add(members.Select(m => m.UserId).Where(u => !u.StartsWith("viewer", StringComparison.Ordinal)).Order().ToArray());
        }

        await observer.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        Assert.Multiple(() =>
        {
            Assert.That(views, Has.All.EqualTo(expected), "every node sees the same, correct membership (T17)");
            foreach (var user in users)
            {
                var balance = joinedEvents.Items.Count(e => e.UserId == user) - leftEvents.Items.Count(e => e.UserId == user);
                Assert.That(balance, Is.EqualTo(expected.Contains(user) ? 1 : 0), $"{user}: announced joins minus leaves");
            }
        });
    }

    [Test]
    public async Task T15_PerUserCap_ConnectionsSpreadOverNodes_OneMoreThanCapClosedWithRateLimited()
    {
        ExpectErrorLogs(); // SignalR logs the refused OnConnectedAsync as an error.
        var open = new[] { await ConnectAsync(0, "capped"), await ConnectAsync(1, "capped"), await ConnectAsync(2, "capped") };
        var extra = Track(Nodes[0].Connection(TestTokens.For("capped")));
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        extra.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };

        try
        {
            await extra.StartAsync();
        }
        catch (Exception error)
        {
            closed.TrySetResult(error);
        }

        var reason = await closed.Task.Within();
        var other = await ConnectAsync(2, "someone-else");
        Assert.Multiple(() =>
        {
            Assert.That(reason?.Message, Does.Contain("HubException: rate_limited:"));
            Assert.That(open.Select(c => c.State), Has.All.EqualTo(HubConnectionState.Connected), "the user's connections are not displaced (T16)");
            Assert.That(other.State, Is.EqualTo(HubConnectionState.Connected), "the cap is per user");
        });
    }

    [Test]
    public async Task T22_ConnectJoinLeaveDisconnectCycles_AcrossNodes_RedisKeysAndMapsBackToBaseline()
    {
        // Node heartbeats come and go, and message budgets and tickets of other tests expire while this one runs.
        static bool Lasting(string key) => !key.Contains(":node:") && !key.Contains(":budget:") && !key.Contains(":ticket:");

        var room = NewRoomId();
        var owner = await ConnectAsync(0, "keeper");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var baselineKeys = await Redis.KeysAsync();
        var baselineLocal = Nodes.Select(n => n.Services.GetRequiredService<LocalConnections>().Count).ToArray();

        const int workers = 20;
        const int cyclesPerWorker = 500;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async worker =>
        {
            // One client object per node, started and stopped again each cycle: every start is a new server connection.
            var perNode = Nodes.Select(n => n.Connection(TestTokens.For($"cycler-{worker}"))).ToArray();
            for (var cycle = 0; cycle < cyclesPerWorker; cycle++)
            {
                var connection = perNode[(worker + cycle) % perNode.Length];
                await connection.StartAsync();
                await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
                if (cycle % 2 == 0)
                {
                    await connection.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
                }

                await connection.StopAsync();
            }

            foreach (var connection in perNode)
            {
                await connection.DisposeAsync();
            }
        }));

        await Await.UntilAsync(() => Nodes.Select(n => n.Services.GetRequiredService<LocalConnections>().Count).SequenceEqual(baselineLocal),
            "every node's connections are gone");
        var keys = await Redis.KeysAsync();
        var members = await owner.InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), room);
        Assert.Multiple(() =>
        {
            Assert.That(keys.Where(Lasting), Is.EqualTo(baselineKeys.Where(Lasting)), "Redis keys back to baseline (T15, T22)");
            Assert.That(members.Select(m => m.UserId), Is.EqualTo(new[] { "keeper" }));
        });
    }
}
