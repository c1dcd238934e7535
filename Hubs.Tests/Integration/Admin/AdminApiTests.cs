using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubs.Contracts;
using Hubs.Server.Audit;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hubs.Tests.Integration.Admin;

/// <summary>The admin API on one node: who may call it, what each endpoint answers, and its refusals as problem details.</summary>
public sealed class AdminApiTests : ServerFixture
{
    private static readonly string AdminToken = TestTokens.For("ops-service", roles: ["hubs-admin"]);

    private const string FailingUser = "admin-store-fails";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Hubs:Admin:RequestsPerMinute"] = "100000",
    };

    // The audit store fails for one query, as a dependency failing mid-request would.
    protected override void ConfigureServices(IServiceCollection services) =>
        services.Decorate<IAuditStore>(inner => FailingCalls<IAuditStore>.Wrap(inner,
            (method, args) => method.Name == nameof(IAuditStore.QueryAsync) && args[0] is AuditQuery { UserId: FailingUser }));

    /// <summary>Every endpoint: method, path (with <c>{room}</c> for a room, <c>{user}</c> for a user) and a valid body.</summary>
    private static readonly (string Method, string Path, object? Body)[] Endpoints =
    [
        ("GET", "/api/rooms", null),
        ("POST", "/api/rooms", new ServiceCreateRoomRequest("created-by-matrix", RoomPermission.Public, "owner")),
        ("GET", "/api/rooms/{room}", null),
        ("PATCH", "/api/rooms/{room}", new ServiceUpdateRoomRequest("Renamed")),
        ("DELETE", "/api/rooms/{room}", null),
        ("GET", "/api/rooms/{room}/members", null),
        ("GET", "/api/rooms/{room}/invites", null),
        ("PUT", "/api/rooms/{room}/invites/{user}", null),
        ("DELETE", "/api/rooms/{room}/invites/{user}", null),
        ("POST", "/api/rooms/{room}/kicks/{user}", null),
        ("POST", "/api/rooms/{room}/messages", new ServiceMessageRequest("svc", "hi")),
        ("POST", "/api/users/{user}/notifications", new NotifyUserRequest("svc", "hi")),
        ("POST", "/api/users/{user}/disconnect", new DisconnectUserRequest()),
        ("DELETE", "/api/users/{user}/ban", null),
        ("GET", "/api/audit", null),
    ];

    [Test]
    public async Task EveryEndpoint_NoToken401_UserOrOtherRole403_ChangesNothing()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync("matrix-owner");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public, "Before"));
        var callers = new (string? Token, HttpStatusCode Status)[]
        {
            (null, HttpStatusCode.Unauthorized),
            (TestTokens.For("matrix-user"), HttpStatusCode.Forbidden),
            (TestTokens.For("matrix-user", roles: ["admin", "ops"]), HttpStatusCode.Forbidden),
        };

        var refIds = new List<string>();
        foreach (var (method, template, body) in Endpoints)
        {
            var path = template.Replace("{room}", room, StringComparison.Ordinal).Replace("{user}", "matrix-target", StringComparison.Ordinal);
            foreach (var (token, status) in callers)
            {
                var response = await SendAsync(new HttpMethod(method), token, path, body is null ? null : JsonContent.Create(body, body.GetType()));
                var problem = await response.Content.ReadAsStringAsync();
                var what = $"{method} {path} as {(token is null ? "nobody" : "a user")}: {problem}";
                Assert.That(response.StatusCode, Is.EqualTo(status), what);
                refIds.Add(AssertProblem(response, problem, status == HttpStatusCode.Unauthorized ? ErrorCodes.Unauthenticated : ErrorCodes.Forbidden, what));
            }
        }

        var after = await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);
        var audit = await GetJsonAsync<AuditRecord[]>("/api/audit?limit=1000");
        Assert.Multiple(() =>
        {
            Assert.That(after.DisplayName, Is.EqualTo("Before"), "nothing ran");
            Assert.That(refIds, Is.Unique);
            foreach (var refId in refIds)
            {
                Assert.That(audit.Count(r => r.RefId == refId), Is.EqualTo(1), $"the denial's audit record carries the ref id {refId} its caller got");
            }
        });
    }

    [Test]
    public void EveryApiEndpoint_RequiresTheAdminRole_AndIsInTheMatrix()
    {
        // Every endpoint the server maps, so that a new one under /api cannot skip the role or the refusal tests above.
        var endpoints = Server.Services.GetServices<EndpointDataSource>().SelectMany(source => source.Endpoints).OfType<RouteEndpoint>().ToList();
        var api = endpoints.Where(e => ("/" + e.RoutePattern.RawText?.TrimStart('/')).StartsWith("/api", StringComparison.OrdinalIgnoreCase)).ToList();
        var described = api.SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => $"{m} /{e.RoutePattern.RawText!.TrimStart('/')}"));
        var matrix = Endpoints.Select(e => $"{e.Method} {e.Path.Replace("{room}", "{roomId}", StringComparison.Ordinal).Replace("{user}", "{userId}", StringComparison.Ordinal)}");

        Assert.Multiple(() =>
        {
            Assert.That(api, Is.Not.Empty);
            Assert.That(described, Is.EquivalentTo(matrix), "the refusal matrix covers every /api endpoint");
            foreach (var endpoint in api)
            {
                var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy);
                Assert.That(policies, Does.Contain("hubs-admin"), $"{endpoint.DisplayName} requires the admin policy");
                Assert.That(endpoint.Metadata.GetMetadata<IAllowAnonymous>(), Is.Null, $"{endpoint.DisplayName} allows no anonymous caller");
            }

            var anonymous = endpoints.Where(e => e.Metadata.GetMetadata<IAuthorizeData>() is null).Select(e => e.RoutePattern.RawText);
            Assert.That(anonymous, Has.None.StartsWith("/api").And.None.StartsWith("api"), "nothing under /api without authorization");
        });
    }

    [Test]
    public async Task FrameworkRefusals_BadQueryValues_WrongContentType_UnknownPath_AreProblemDetails()
    {
        var cases = new (HttpResponseMessage Response, HttpStatusCode Status, string Code)[]
        {
            (await SendAsync(HttpMethod.Get, AdminToken, "/api/audit?from=not-a-time"), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
            (await SendAsync(HttpMethod.Get, AdminToken, "/api/audit?to=1e99"), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
            (await SendAsync(HttpMethod.Get, AdminToken, "/api/audit?limit=lots"), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
            (await SendAsync(HttpMethod.Get, AdminToken, "/api/audit?limit=0"), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
            (await SendAsync(HttpMethod.Post, AdminToken, "/api/rooms/some-room/messages", new StringContent("hi")), HttpStatusCode.UnsupportedMediaType, ErrorCodes.InvalidArgument),
            (await SendAsync(HttpMethod.Get, AdminToken, "/api/no-such-endpoint"), HttpStatusCode.NotFound, ErrorCodes.NotFound),
        };

        foreach (var (response, status, code) in cases)
        {
            var body = await response.Content.ReadAsStringAsync();
            var what = $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {body}";
            Assert.That(response.StatusCode, Is.EqualTo(status), what);
            AssertProblem(response, body, code, what);
        }
    }

    [Test]
    public async Task EveryRoomEndpoint_UnknownRoom404_BadRoomId400()
    {
        foreach (var (method, template, body) in Endpoints.Where(e => e.Path.Contains("{room}", StringComparison.Ordinal)))
        {
            foreach (var (room, status, code) in new[] { ("no-such-room", HttpStatusCode.NotFound, ErrorCodes.NotFound), ("bad%20id", HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument) })
            {
                var path = template.Replace("{room}", room, StringComparison.Ordinal).Replace("{user}", "matrix-target", StringComparison.Ordinal);
                var response = await SendAsync(new HttpMethod(method), AdminToken, path, body is null ? null : JsonContent.Create(body, body.GetType()));
                var problem = await response.Content.ReadAsStringAsync();
                Assert.Multiple(() =>
                {
                    Assert.That(response.StatusCode, Is.EqualTo(status), $"{method} {path}: {problem}");
                    Assert.That(problem, Does.Contain($"\"code\":\"{code}\""), $"{method} {path}");
                });
            }
        }
    }

    [Test]
    public async Task EveryUserEndpoint_BadUserId400()
    {
        foreach (var (method, template, body) in Endpoints.Where(e => e.Path.Contains("{user}", StringComparison.Ordinal)))
        {
            var path = template.Replace("{room}", "some-room", StringComparison.Ordinal).Replace("{user}", "bad%07user", StringComparison.Ordinal);
            var response = await SendAsync(new HttpMethod(method), AdminToken, path, body is null ? null : JsonContent.Create(body, body.GetType()));
            var problem = await response.Content.ReadAsStringAsync();
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), $"{method} {path}: {problem}");
                Assert.That(problem, Does.Contain($"\"code\":\"{ErrorCodes.InvalidArgument}\""), $"{method} {path}");
            });
        }
    }

    [Test]
    public async Task WithoutTheAdminRole_401Or403_AndNothingRuns()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync("admin-owner");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var post = new ServiceMessageRequest("billing", "should not be stored");

        var anonymous = await PostAsync(null, $"/api/rooms/{room}/messages", post);
        var user = await PostAsync(TestTokens.For("mallory"), $"/api/rooms/{room}/messages", post);
        var otherRole = await PostAsync(TestTokens.For("mallory", roles: ["staff", "admin"]), $"/api/rooms/{room}/messages", post);
        var expired = await PostAsync(TestTokens.For("ops", roles: ["hubs-admin"], lifetime: TimeSpan.FromMinutes(-5)), $"/api/rooms/{room}/messages", post);
        var readAsUser = await SendAsync(HttpMethod.Get, TestTokens.For("mallory"), "/api/rooms");

        Assert.Multiple(async () =>
        {
            Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(user.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(otherRole.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(expired.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(readAsUser.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            var history = await owner.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room));
            Assert.That(history, Is.Empty, "nothing was posted");
        });
    }

    [Test]
    public async Task AnInternalFailure_InternalProblemWithARefId_DetailsOnlyInTheLog()
    {
        ExpectErrorLogs();

        var response = await SendAsync(HttpMethod.Get, AdminToken, $"/api/audit?userId={FailingUser}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError), body);
        var refId = AssertProblem(response, body, ErrorCodes.Internal, body);
        var logged = Server.Logs.Lines.Where(l => l.Level == LogLevel.Error && l.Message.Contains(refId, StringComparison.Ordinal)).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(body, Does.Not.Contain("Injected").And.Not.Contain(nameof(IAuditStore)), "nothing of the failure reaches the caller");
            Assert.That(logged, Has.Count.EqualTo(1), "one error log line under the ref id");
            Assert.That(logged.Single().Exception, Does.Contain("Injected failure"), "the details are in the log");
        });
    }

    [Test]
    public async Task TheRequiredRole_IsTheConfiguredOne()
    {
        await using var server = await HubsTestServer.StartAsync(new Dictionary<string, string?> { ["Hubs:Admin:Role"] = "ops-backend" });
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        async Task<HttpStatusCode> ListAs(string[] roles)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/rooms");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("role-caller", roles: roles));
            return (await client.SendAsync(request)).StatusCode;
        }

        Assert.Multiple(async () =>
        {
            Assert.That(await ListAs(["ops-backend"]), Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await ListAs(["staff", "ops-backend"]), Is.EqualTo(HttpStatusCode.OK), "one of several roles");
            Assert.That(await ListAs(["hubs-admin"]), Is.EqualTo(HttpStatusCode.Forbidden), "the default role is no longer enough");
        });
    }

    [Test]
    public async Task PostMessage_NextSequence_StoredAndDeliveredLikeSendMessage_RetrySafe()
    {
        var room = NewRoomId();
        var alice = await ConnectAsync("admin-alice");
        var received = new EventRecorder<RoomMessage>(alice, nameof(IRoomClient.MessageReceived));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Private));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "first"));

        var response = await PostAsync(AdminToken, $"/api/rooms/{room}/messages", new ServiceMessageRequest("billing", "invoice ready", "Billing", "inv-42"));
        var result = await response.Content.ReadFromJsonAsync<SendMessageResult>();
        var delivered = await received.WaitAsync(m => m.Sequence == 2);
        var retry = await (await PostAsync(AdminToken, $"/api/rooms/{room}/messages", new ServiceMessageRequest("billing", "invoice ready", "Billing", "inv-42")))
            .Content.ReadFromJsonAsync<SendMessageResult>();
        var history = await alice.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(result!.Sequence, Is.EqualTo(2), "the room's next sequence");
            Assert.That((delivered.SenderId, delivered.SenderName, delivered.Text), Is.EqualTo(("billing", "Billing", "invoice ready")));
            Assert.That(retry!.Sequence, Is.EqualTo(2), "a retry with the same clientMessageId stores nothing new");
            Assert.That(history.Select(m => m.Sequence), Is.EqualTo(new long[] { 1, 2 }));
        });
    }

    [Test]
    public async Task ReadEndpoints_RoomsRoomAndMembersWithPresence()
    {
        var room = NewRoomId();
        var carol = await ConnectAsync("admin-carol", "Carol");
        await carol.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.OwnerOnly, "Ops"));
        await carol.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await carol.InvokeAsync(nameof(IRoomHub.SetStatus), PresenceStatus.Away);

        var rooms = await GetJsonAsync<RoomInfo[]>("/api/rooms");
        var info = await GetJsonAsync<RoomInfo>($"/api/rooms/{room}");
        var members = await GetJsonAsync<MemberInfo[]>($"/api/rooms/{room}/members");

        Assert.Multiple(() =>
        {
            Assert.That(rooms.Select(r => r.RoomId), Does.Contain(room), "an admin sees even OWNER_ONLY rooms");
            Assert.That((info.DisplayName, info.Permission, info.OwnerId, info.MemberCount), Is.EqualTo(("Ops", RoomPermission.OwnerOnly, "admin-carol", 1)));
            Assert.That(members, Is.EqualTo(new[] { new MemberInfo("admin-carol", "Carol", PresenceStatus.Away) }));
        });
    }

    [Test]
    public async Task OwnerActions_CreateUpdateInviteRevokeKickDelete_EvictBeforeAnyoneHears()
    {
        var room = NewRoomId();
        var created = await SendAsync(HttpMethod.Post, AdminToken, "/api/rooms",
            JsonContent.Create(new ServiceCreateRoomRequest(room, RoomPermission.Public, "admin-owner-erin", "Team")));
        var info = await created.Content.ReadFromJsonAsync<RoomInfo>();
        var erin = await ConnectAsync("admin-owner-erin");
        var frank = await ConnectAsync("admin-frank");
        var frankRemoved = new EventRecorder<RemovedFromRoomEvent>(frank, nameof(IRoomClient.RemovedFromRoom));
        var erinUpdates = new EventRecorder<RoomInfo>(erin, nameof(IRoomClient.RoomUpdated));
        await erin.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await frank.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        // Stricter permission: Frank is not invited, so he is removed (revoked) before the update is announced.
        var patched = await SendAsync(new HttpMethod("PATCH"), AdminToken, $"/api/rooms/{room}",
            JsonContent.Create(new ServiceUpdateRoomRequest(Permission: RoomPermission.Private)));
        var revoked = await frankRemoved.WaitAsync();
        var updated = await erinUpdates.WaitAsync();

        // Invite, rejoin, then revoke: removed again; invite, rejoin, kick: removed as kicked and may not rejoin.
        var invited = await SendAsync(HttpMethod.Put, AdminToken, $"/api/rooms/{room}/invites/admin-frank");
        var invites = await GetJsonAsync<string[]>($"/api/rooms/{room}/invites");
        await frank.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var removedAgain = new EventRecorder<RemovedFromRoomEvent>(frank, nameof(IRoomClient.RemovedFromRoom));
        var revokedInvite = await SendAsync(HttpMethod.Delete, AdminToken, $"/api/rooms/{room}/invites/admin-frank");
        var revokedAgain = await removedAgain.WaitAsync();
        await SendAsync(HttpMethod.Put, AdminToken, $"/api/rooms/{room}/invites/admin-frank");
        await frank.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var kicked = await SendAsync(HttpMethod.Post, AdminToken, $"/api/rooms/{room}/kicks/admin-frank");
        var kick = await frankRemoved.WaitAsync(r => r.Reason == RemovalReasons.Kicked);
        var rejoin = Assert.ThrowsAsync<HubException>(() => frank.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room));
        var kickOwner = await SendAsync(HttpMethod.Post, AdminToken, $"/api/rooms/{room}/kicks/admin-owner-erin");

        var erinRemoved = new EventRecorder<RemovedFromRoomEvent>(erin, nameof(IRoomClient.RemovedFromRoom));
        var deleted = await SendAsync(HttpMethod.Delete, AdminToken, $"/api/rooms/{room}");
        var deletion = await erinRemoved.WaitAsync();
        var gone = await SendAsync(HttpMethod.Get, AdminToken, $"/api/rooms/{room}");
        var audit = (await GetJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}&limit=1000")).Where(r => r.Via == "api")
            .Select(r => (r.Action, r.Actor, r.TargetUserId, r.Outcome)).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(audit, Is.EquivalentTo(new[]
            {
                ("CreateRoom", "ops-service", (string?)"admin-owner-erin", "ok"),
                ("UpdateRoom", "ops-service", null, "ok"),
                ("InviteUser", "ops-service", "admin-frank", "ok"),
                ("RevokeInvite", "ops-service", "admin-frank", "ok"),
                ("InviteUser", "ops-service", "admin-frank", "ok"),
                ("KickUser", "ops-service", "admin-frank", "ok"),
                ("KickUser", "ops-service", "admin-owner-erin", ErrorCodes.InvalidArgument),
                ("DeleteRoom", "ops-service", null, "ok"),
            }), "exactly one audit record per admin action that changes something, none for reads");
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That((info!.OwnerId, info.DisplayName), Is.EqualTo(("admin-owner-erin", "Team")));
            Assert.That(patched.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(revoked, Is.EqualTo(new RemovedFromRoomEvent(room, RemovalReasons.Revoked)));
            Assert.That(updated.Permission, Is.EqualTo(RoomPermission.Private));
            Assert.That(invited.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(invites, Is.EqualTo(new[] { "admin-frank" }));
            Assert.That(revokedInvite.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(revokedAgain.Reason, Is.EqualTo(RemovalReasons.Revoked));
            Assert.That(kicked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(kick.Reason, Is.EqualTo(RemovalReasons.Kicked));
            Assert.That(rejoin!.Message, Does.Contain("not_found"), "a kicked user cannot rejoin");
            Assert.That(kickOwner.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the owner cannot be kicked");
            Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(deletion.Reason, Is.EqualTo(RemovalReasons.Deleted));
            Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        });
    }

    [Test]
    public async Task BadInputAndUnknownRooms_ProblemDetailsWithTheHubsCodes()
    {
        var room = NewRoomId();
        var owner = await ConnectAsync("admin-dave");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await owner.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        var cases = new (HttpResponseMessage Response, HttpStatusCode Status, string Code)[]
        {
            (await SendAsync(HttpMethod.Get, AdminToken, "/api/rooms/bad%20id"), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
            (await SendAsync(HttpMethod.Get, AdminToken, "/api/rooms/no-such-room"), HttpStatusCode.NotFound, ErrorCodes.NotFound),
            (await SendAsync(HttpMethod.Get, AdminToken, "/api/rooms/no-such-room/members"), HttpStatusCode.NotFound, ErrorCodes.NotFound),
            (await PostAsync(AdminToken, "/api/rooms/no-such-room/messages", new ServiceMessageRequest("svc", "hi")), HttpStatusCode.NotFound, ErrorCodes.NotFound),
            (await PostAsync(AdminToken, $"/api/rooms/{room}/messages", new ServiceMessageRequest("svc", new string('x', 100_000))), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
            (await PostAsync(AdminToken, $"/api/rooms/{room}/messages", new ServiceMessageRequest("bad\u0007id", "hi")), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
            (await PostAsync(AdminToken, $"/api/rooms/{room}/messages", new ServiceMessageRequest("svc", "")), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
            (await SendRawAsync($"/api/rooms/{room}/messages", "{ not json"), HttpStatusCode.BadRequest, ErrorCodes.InvalidArgument),
        };

        foreach (var (response, status, code) in cases)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(status), body);
                Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
                using var problem = JsonDocument.Parse(body);
                Assert.That(problem.RootElement.GetProperty("code").GetString(), Is.EqualTo(code), body);
                Assert.That(problem.RootElement.GetProperty("detail").GetString(), Does.StartWith($"{code}: ").And.Contain("(ref "), body);
                Assert.That(body, Does.Not.Contain("Exception").And.Not.Contain("   at "), "no exception text reaches the caller");
            });
        }

        var history = await owner.InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), new GetHistoryRequest(room));
        Assert.That(history, Is.Empty, "bad input changes nothing");
    }

    [Test]
    public async Task HubsAdminClient_TypedCalls_AndRefusalsAsHubsExceptionCodes()
    {
        using var http = new HttpClient { BaseAddress = Server.BaseAddress };
        var admin = new Hubs.Client.HubsAdminClient(http, _ => ValueTask.FromResult<string?>(AdminToken));
        var user = new Hubs.Client.HubsAdminClient(http, _ => ValueTask.FromResult<string?>(TestTokens.For("mallory")));
        var room = NewRoomId();
        var kim = await ConnectAsync("admin-kim");
        var notified = new EventRecorder<UserNotification>(kim, nameof(IRoomClient.Notified));

        var created = await admin.CreateRoomAsync(new ServiceCreateRoomRequest(room, RoomPermission.Private, "admin-kim"));
        await admin.InviteUserAsync(room, "admin-lee");
        var invites = await admin.GetInvitesAsync(room);
        var updated = await admin.UpdateRoomAsync(room, new ServiceUpdateRoomRequest(DisplayName: "Renamed"));
        await kim.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var posted = await admin.PostMessageAsync(room, new ServiceMessageRequest("svc", "hello"));
        var members = await admin.GetMembersAsync(room);
        var notification = await admin.NotifyUserAsync("admin-kim", new NotifyUserRequest("svc", "ping"));
        var arrived = await notified.WaitAsync();
        var listed = await admin.ListRoomsAsync();
        var forbidden = Assert.ThrowsAsync<Hubs.Client.HubsException>(() => user.ListRoomsAsync());
        var missing = Assert.ThrowsAsync<Hubs.Client.HubsException>(() => admin.GetRoomAsync("no-such-room"));
        var invalid = Assert.ThrowsAsync<Hubs.Client.HubsException>(() => admin.PostMessageAsync(room, new ServiceMessageRequest("svc", "")));
        var kimRemoved = new EventRecorder<RemovedFromRoomEvent>(kim, nameof(IRoomClient.RemovedFromRoom));
        await admin.RevokeInviteAsync(room, "admin-lee");
        var invitesAfterRevoke = await admin.GetInvitesAsync(room);
        await admin.InviteUserAsync(room, "admin-lee");
        await admin.KickUserAsync(room, "admin-lee");
        var kickOwner = Assert.ThrowsAsync<Hubs.Client.HubsException>(() => admin.KickUserAsync(room, "admin-kim"));
        await admin.DeleteRoomAsync(room);
        var deleted = await kimRemoved.WaitAsync();
        var gone = Assert.ThrowsAsync<Hubs.Client.HubsException>(() => admin.GetRoomAsync(room));
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        kim.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        var disconnected = await admin.DisconnectUserAsync("admin-kim", banSeconds: 60);
        await closed.Task.WaitAsync(Await.Timeout);
        var banned = Assert.CatchAsync(() => ConnectAsync("admin-kim"));
        await admin.LiftBanAsync("admin-kim");
        var back = await ConnectAsync("admin-kim");
        var audit = await admin.QueryAuditAsync(roomId: room, from: DateTimeOffset.UtcNow.AddMinutes(-5), to: DateTimeOffset.UtcNow.AddMinutes(5), limit: 1000);
        var aboutKim = await admin.QueryAuditAsync(userId: "admin-kim", limit: 1000);
        var badLimit = Assert.ThrowsAsync<Hubs.Client.HubsException>(() => admin.QueryAuditAsync(limit: 0));

        Assert.Multiple(() =>
        {
            Assert.That(created.OwnerId, Is.EqualTo("admin-kim"));
            Assert.That(invites, Is.EqualTo(new[] { "admin-lee" }));
            Assert.That(updated.DisplayName, Is.EqualTo("Renamed"));
            Assert.That(posted.Sequence, Is.EqualTo(1));
            Assert.That(members.Select(m => m.UserId), Is.EqualTo(new[] { "admin-kim" }));
            Assert.That(arrived, Is.EqualTo(notification));
            Assert.That(listed.Select(r => r.RoomId), Does.Contain(room));
            Assert.That(forbidden!.Code, Is.EqualTo(ErrorCodes.Forbidden));
            Assert.That(missing!.Code, Is.EqualTo(ErrorCodes.NotFound));
            Assert.That(missing.RefId, Is.Not.Null.And.Not.Empty, "the reference id matching the server log");
            Assert.That(invalid!.Code, Is.EqualTo(ErrorCodes.InvalidArgument));
            Assert.That(gone!.Code, Is.EqualTo(ErrorCodes.NotFound));
            Assert.That(invitesAfterRevoke, Is.Empty);
            Assert.That(kickOwner!.Code, Is.EqualTo(ErrorCodes.InvalidArgument));
            Assert.That(deleted.Reason, Is.EqualTo(RemovalReasons.Deleted));
            Assert.That(disconnected.BannedUntil, Is.GreaterThan(DateTimeOffset.UtcNow.AddSeconds(30)));
            Assert.That(banned, Is.Not.Null, "no connect while banned");
            Assert.That(back.State, Is.EqualTo(HubConnectionState.Connected), "and again once the ban is lifted");
            Assert.That(audit.Select(r => r.Action), Is.SupersetOf(new[] { "CreateRoom", "InviteUser", "RevokeInvite", "KickUser", "DeleteRoom", "PostMessage" }));
            Assert.That(aboutKim.Select(r => r.Action), Is.SupersetOf(new[] { "DisconnectUser", "LiftBan", "Connect" }));
            Assert.That(badLimit!.Code, Is.EqualTo(ErrorCodes.InvalidArgument));
        });
    }

    [Test]
    public async Task OpenApiDocument_DescribesTheAdminApi()
    {
        using var client = new HttpClient { BaseAddress = Server.BaseAddress };
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        Assert.Multiple(() =>
        {
            Assert.That(paths.TryGetProperty("/api/rooms", out _), Is.True);
            Assert.That(paths.TryGetProperty("/api/rooms/{roomId}", out _), Is.True);
            Assert.That(paths.TryGetProperty("/api/rooms/{roomId}/members", out _), Is.True);
            Assert.That(paths.GetProperty("/api/rooms/{roomId}/messages").TryGetProperty("post", out _), Is.True);
            foreach (var (method, template, _) in Endpoints)
            {
                var path = template.Replace("{room}", "{roomId}", StringComparison.Ordinal).Replace("{user}", "{userId}", StringComparison.Ordinal);
                Assert.That(paths.TryGetProperty(path, out var item) && item.TryGetProperty(method.ToLowerInvariant(), out _), Is.True, $"{method} {path} is described");
            }
        });
    }

    /// <summary>A problem detail with the contract's code, its text and a reference id, and nothing of an exception; returns the ref id.</summary>
    private static string AssertProblem(HttpResponseMessage response, string body, string code, string what)
    {
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), what);
        using var problem = JsonDocument.Parse(body);
        var refId = problem.RootElement.GetProperty("refId").GetString();
        Assert.Multiple(() =>
        {
            Assert.That(problem.RootElement.GetProperty("code").GetString(), Is.EqualTo(code), what);
            Assert.That(problem.RootElement.GetProperty("status").GetInt32(), Is.EqualTo((int)response.StatusCode), what);
            Assert.That(problem.RootElement.GetProperty("detail").GetString(), Does.StartWith($"{code}: ").And.EndWith($"(ref {refId})"), what);
            Assert.That(refId, Does.Match("^[0-9a-f]{12}$"), what);
            Assert.That(body, Does.Not.Contain("Exception").And.Not.Contain("   at ").And.Not.Contain("Bearer"), what);
        });
        return refId!;
    }

    private async Task<T> GetJsonAsync<T>(string path)
    {
        var response = await SendAsync(HttpMethod.Get, AdminToken, path);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<T>())!;
    }

    private Task<HttpResponseMessage> PostAsync(string? token, string path, ServiceMessageRequest body) =>
        SendAsync(HttpMethod.Post, token, path, JsonContent.Create(body));

    private Task<HttpResponseMessage> SendRawAsync(string path, string json) =>
        SendAsync(HttpMethod.Post, AdminToken, path, new StringContent(json, new MediaTypeHeaderValue("application/json")));

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string? token, string path, HttpContent? content = null)
    {
        using var client = new HttpClient { BaseAddress = Server.BaseAddress };
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
