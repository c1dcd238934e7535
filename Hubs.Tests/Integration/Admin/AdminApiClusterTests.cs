using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Admin;

/// <summary>The admin API across two nodes and a real redis-server, and its per-caller rate limit.</summary>
public sealed class AdminApiClusterTests : ClusterFixture
{
    private static readonly string AdminToken = TestTokens.For("ops-cluster", roles: ["hubs-admin"]);

    protected override int NodeCount => 2;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Hubs:Admin:RequestsPerMinute"] = "10",
    };

    [Test]
    public async Task ServicePost_OnOneNode_ReachesMembersOnBothNodes_WithTheNextSequence()
    {
        var room = NewRoomId();
        var onA = await ConnectAsync(0, "cluster-a");
        var onB = await ConnectAsync(1, "cluster-b");
        var receivedA = new EventRecorder<RoomMessage>(onA, nameof(IRoomClient.MessageReceived));
        var receivedB = new EventRecorder<RoomMessage>(onB, nameof(IRoomClient.MessageReceived));
        await onA.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await onA.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await onB.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await onB.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "from b"));

        using var client = Client(Nodes[1]);
        var response = await client.PostAsJsonAsync($"/api/rooms/{room}/messages", new ServiceMessageRequest("alerts", "deploy finished"));
        var result = await response.Content.ReadFromJsonAsync<SendMessageResult>();
        var atA = await receivedA.WaitAsync(m => m.SenderId == "alerts");
        var atB = await receivedB.WaitAsync(m => m.SenderId == "alerts");

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(result!.Sequence, Is.EqualTo(2));
            Assert.That((atA.Sequence, atA.Text), Is.EqualTo((2L, "deploy finished")));
            Assert.That((atB.Sequence, atB.Text), Is.EqualTo((2L, "deploy finished")));
        });
    }

    [Test]
    public async Task NotifyUser_ReachesEveryConnectionOfThatUserOnEveryNode_AndNobodyElse()
    {
        var onA = await ConnectAsync(0, "notify-grace");
        var onB = await ConnectAsync(1, "notify-grace");
        var other = await ConnectAsync(0, "notify-heidi");
        var atA = new EventRecorder<UserNotification>(onA, nameof(IRoomClient.Notified));
        var atB = new EventRecorder<UserNotification>(onB, nameof(IRoomClient.Notified));
        var atOther = new EventRecorder<UserNotification>(other, nameof(IRoomClient.Notified));
        await using var client = new Hubs.Client.HubsClient(new Hubs.Client.HubsClientOptions
        {
            Url = Nodes[1].HubUrl,
            AccessTokenProvider = _ => ValueTask.FromResult<string?>(TestTokens.For("notify-grace")),
            SkipNegotiation = true,
            Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets,
        });
        var viaClient = new TaskCompletionSource<UserNotification>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = client.OnNotified(n => viaClient.TrySetResult(n));
        await client.StartAsync();

        using var http = Client(Nodes[0]);
        var response = await http.PostAsJsonAsync("/api/users/notify-grace/notifications", new NotifyUserRequest("billing", "your invoice is ready", "invoice"));
        var toOther = await http.PostAsJsonAsync("/api/users/notify-heidi/notifications", new NotifyUserRequest("billing", "for heidi"));
        var a = await atA.WaitAsync();
        var b = await atB.WaitAsync();
        var c = await viaClient.Task.WaitAsync(Await.Timeout);
        var heidi = await atOther.WaitAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(toOther.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That((a.UserId, a.SenderId, a.Kind, a.Text), Is.EqualTo(("notify-grace", "billing", "invoice", "your invoice is ready")));
            Assert.That(b, Is.EqualTo(a), "the same notification on the other node");
            Assert.That(c, Is.EqualTo(a), "and through HubsClient.OnNotified");
            Assert.That((heidi.UserId, heidi.Kind, heidi.Text), Is.EqualTo(("notify-heidi", "notice", "for heidi")));
            Assert.That(atOther.Items.Select(n => n.Text), Is.EqualTo(new[] { "for heidi" }), "Heidi got only her own");
        });
    }

    [Test]
    public async Task NotifyUser_ReachesMessagePackAndJsonConnectionsOnEitherNode_Intact()
    {
        await using var clients = new TestClients();
        var packed = clients.New([Nodes[1].HubUrl], TestClients.TokensFor("notify-ines"), messagePack: true);
        var plain = clients.New([Nodes[0].HubUrl], TestClients.TokensFor("notify-ines"), messagePack: false);
        var toPacked = new TaskCompletionSource<UserNotification>(TaskCreationOptions.RunContinuationsAsynchronously);
        var toPlain = new TaskCompletionSource<UserNotification>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var a = packed.OnNotified(n => toPacked.TrySetResult(n));
        using var b = plain.OnNotified(n => toPlain.TrySetResult(n));
        await packed.StartAsync();
        await plain.StartAsync();

        using var http = Client(Nodes[0]);
        var response = await http.PostAsJsonAsync("/api/users/notify-ines/notifications", new NotifyUserRequest("billing", "über binary ✓", "invoice"));
        var viaPack = await toPacked.Task.WaitAsync(Await.Timeout);
        var viaJson = await toPlain.Task.WaitAsync(Await.Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That((viaPack.UserId, viaPack.SenderId, viaPack.Kind, viaPack.Text), Is.EqualTo(("notify-ines", "billing", "invoice", "über binary ✓")),
                "a MessagePack connection on the other node gets it intact");
            Assert.That(viaJson, Is.EqualTo(viaPack), "and a JSON one on the posting node the same");
        });
    }

    [Test]
    public async Task Connect_SubscribesNoChannelPerUser_OnlyTheBackplanesPerConnection()
    {
        var connections = new[] { await ConnectAsync(0, "channels-jan"), await ConnectAsync(1, "channels-jan"), await ConnectAsync(1, "channels-kai") };

        var perUser = await Redis.SubscribersAsync("*RoomHub:user:*");
        var perConnection = await Redis.SubscribersAsync("*RoomHub:connection:*");

        Assert.Multiple(() =>
        {
            Assert.That(perUser, Is.Empty, "users are reached through one channel per node, not one per user");
            Assert.That(perConnection, Has.Count.GreaterThanOrEqualTo(connections.Length), "the pattern matches the backplane's channels");
        });
    }

    [Test]
    public async Task DisconnectUser_ClosesItsConnectionsOnEveryNode_RefusesReconnectsWhileBanned()
    {
        var onA = await ConnectAsync(0, "ban-ivan");
        var onB = await ConnectAsync(1, "ban-ivan");
        var bystander = await ConnectAsync(1, "ban-judy");
        var closedA = Closed(onA);
        var closedB = Closed(onB);

        using var http = Client(Nodes[0]);
        var response = await http.PostAsJsonAsync("/api/users/ban-ivan/disconnect", new DisconnectUserRequest(BanSeconds: 60));
        var result = await response.Content.ReadFromJsonAsync<DisconnectUserResult>();
        var errorA = await closedA.WaitAsync(Await.Timeout);
        var errorB = await closedB.WaitAsync(Await.Timeout);
        var reconnectA = Assert.CatchAsync(async () =>
        {
            var again = await ConnectAsync(0, "ban-ivan");
            await again.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
        });
        var reconnectB = Assert.CatchAsync(async () =>
        {
            var again = await ConnectAsync(1, "ban-ivan");
            await again.InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms));
        });
        using var raw = new HttpClient { BaseAddress = Nodes[1].BaseAddress };
        using var negotiate = new HttpRequestMessage(HttpMethod.Post, "/hubs/rooms/negotiate?negotiateVersion=1");
        negotiate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("ban-ivan"));
        var refused = await raw.SendAsync(negotiate);
        var refusal = await refused.Content.ReadAsStringAsync();
        var audit = (await http.GetFromJsonAsync<AuditRecord[]>("/api/audit?userId=ban-ivan&limit=1000"))!;
        var lifted = await http.DeleteAsync("/api/users/ban-ivan/ban");
        var afterLift = await ConnectAsync(1, "ban-ivan");
        var badBan = await http.PostAsJsonAsync("/api/users/ban-ivan/disconnect", new DisconnectUserRequest(BanSeconds: -1));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(result!.BannedUntil, Is.GreaterThan(DateTimeOffset.UtcNow.AddSeconds(30)));
            Assert.That(errorA?.Message, Does.Contain("forbidden: disconnected by an administrator"));
            Assert.That(errorB?.Message, Does.Contain("forbidden: disconnected by an administrator"));
            Assert.That(bystander.State, Is.EqualTo(HubConnectionState.Connected), "other users stay");
            Assert.That(reconnectA?.Message, Does.Contain("403"), "a reconnect during the ban is refused before the upgrade");
            Assert.That(reconnectB?.Message, Does.Contain("403"), "on the other node too: the ban is cluster-wide");
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(refusal, Does.Match(@"^forbidden: this user is banned for now \(ref [0-9a-f]{12}\)$"));
            Assert.That(audit.Select(r => (r.Action, r.Via, r.Outcome)), Is.SupersetOf(new[] { ("DisconnectUser", "api", "ok") }));
            Assert.That(audit.Count(r => r.Action == "Connect" && r.Outcome == ErrorCodes.Forbidden && r.Actor == "ban-ivan"), Is.EqualTo(3),
                "each refused connect leaves one record");
            Assert.That(audit.Select(r => r.RefId), Does.Contain(refusal[^13..^1]), "under the ref id the refused client got");
            Assert.That(lifted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(afterLift.State, Is.EqualTo(HubConnectionState.Connected), "connects work again once the ban is lifted");
            Assert.That(badBan.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });
    }

    private static Task<Exception?> Closed(HubConnection connection)
    {
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        return closed.Task;
    }

    [Test]
    public async Task AuditTrail_IsClusterWide_InTheRedisStream()
    {
        var room = NewRoomId("audit");
        var owner = await ConnectAsync(0, "audit-cluster-owner");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync(nameof(IRoomHub.KickUser), room, "audit-cluster-guest");

        using var onB = Client(Nodes[1], TestTokens.For("audit-reader", roles: ["hubs-admin"]));
        var records = (await onB.GetFromJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}"))!;
        string At(DateTimeOffset time) => Uri.EscapeDataString(time.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        var first = records.Min(r => r.Time);
        var last = records.Max(r => r.Time);
        var window = (await onB.GetFromJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}&from={At(first.AddSeconds(-5))}&to={At(last.AddSeconds(5))}"))!;
        var later = (await onB.GetFromJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}&from={At(last.AddSeconds(5))}"))!;
        var earlier = (await onB.GetFromJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}&to={At(first.AddSeconds(-5))}"))!;
        var byGuest = (await onB.GetFromJsonAsync<AuditRecord[]>("/api/audit?userId=audit-cluster-guest"))!;
        var newest = (await onB.GetFromJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}&limit=1"))!;

        Assert.Multiple(() =>
        {
            Assert.That(records.Select(r => (r.Action, r.Actor, r.TargetUserId, r.Outcome)), Is.EquivalentTo(new[]
            {
                ("KickUser", "audit-cluster-owner", (string?)"audit-cluster-guest", "ok"),
                ("CreateRoom", "audit-cluster-owner", (string?)null, "ok"),
            }));
            Assert.That(window, Has.Length.EqualTo(2), "the time window holds both");
            Assert.That(later, Is.Empty, "nothing after the last");
            Assert.That(earlier, Is.Empty, "nothing before the first");
            Assert.That(byGuest.Select(r => r.Action), Is.EqualTo(new[] { "KickUser" }), "the user filter, as the target");
            Assert.That(newest.Select(r => r.Action), Is.EqualTo(new[] { "KickUser" }), "newest first");
        });
    }

    [Test]
    public async Task PerCallerRateLimit_RefusesWithRateLimitedProblem()
    {
        // A caller of its own: the limit is per caller (the token's subject).
        using var client = Client(Nodes[0], TestTokens.For("ops-rate-limited", roles: ["hubs-admin"]));
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 12 && refused is null; i++)
        {
            var response = await client.GetAsync("/api/rooms");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
        }

        Assert.That(refused, Is.Not.Null, string.Join(", ", statuses));
        using var problem = JsonDocument.Parse(await refused!.Content.ReadAsStringAsync());
        Assert.Multiple(() =>
        {
            Assert.That(statuses.Take(10), Is.All.EqualTo(HttpStatusCode.OK), "the burst is 10");
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.RootElement.GetProperty("code").GetString(), Is.EqualTo(ErrorCodes.RateLimited));
        });
    }

    [Test]
    public async Task RefusedCallers_AreRateLimitedToo_SoTheirDenialsCannotFloodTheAuditStore()
    {
        // Without a token the caller is its address; with a token but without the role, its subject.
        using var anonymous = new HttpClient { BaseAddress = Nodes[1].BaseAddress };
        using var user = Client(Nodes[1], TestTokens.For("flooding-user"));
        var anonymousStatuses = new List<HttpStatusCode>();
        var userStatuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            anonymousStatuses.Add((await anonymous.GetAsync("/api/rooms")).StatusCode);
            userStatuses.Add((await user.GetAsync("/api/rooms")).StatusCode);
        }

        using var reader = Client(Nodes[0], TestTokens.For("flood-auditor", roles: ["hubs-admin"]));
        var denials = (await reader.GetFromJsonAsync<AuditRecord[]>("/api/audit?userId=flooding-user&limit=1000"))!;

        Assert.Multiple(() =>
        {
            Assert.That(anonymousStatuses.Take(10), Is.All.EqualTo(HttpStatusCode.Unauthorized), "the burst is 10");
            Assert.That(anonymousStatuses.Skip(10), Is.All.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(userStatuses.Take(10), Is.All.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(userStatuses.Skip(10), Is.All.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(denials, Has.Length.EqualTo(10), "one record per denial that got through, none for the excess");
        });
    }

    private static HttpClient Client(HubsTestServer node, string? token = null)
    {
        var client = new HttpClient { BaseAddress = node.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? AdminToken);
        return client;
    }
}
