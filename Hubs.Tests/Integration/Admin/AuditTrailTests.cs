using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace Hubs.Tests.Integration.Admin;

/// <summary>
/// The audit trail: each owner action, admin action and authorization denial leaves exactly one record with the right
/// fields, in the log category and in the store read by <c>GET /api/audit</c>; no record holds a message text.
/// </summary>
public sealed class AuditTrailTests : ServerFixture
{
    private static readonly string AdminToken = TestTokens.For("audit-admin", roles: ["hubs-admin"]);

    [Test]
    public async Task OwnerActions_AdminPost_AndDenials_OneRecordEach_NoMessageText()
    {
        var room = NewRoomId("audit");
        var owner = await ConnectAsync("audit-owner");
        var guest = await ConnectAsync("audit-guest");
        var stranger = await ConnectAsync("audit-stranger");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Private));
        await owner.InvokeAsync(nameof(IRoomHub.InviteUser), room, "audit-guest");
        await guest.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        await owner.InvokeAsync(nameof(IRoomHub.KickUser), room, "audit-guest");
        await owner.InvokeAsync(nameof(IRoomHub.InviteUser), room, "audit-guest");
        await owner.InvokeAsync(nameof(IRoomHub.RevokeInvite), room, "audit-guest");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), new UpdateRoomRequest(room, Permission: RoomPermission.Public));
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), new UpdateRoomRequest(room, Permission: RoomPermission.OwnerOnly));
        var denied = Assert.ThrowsAsync<HubException>(() => stranger.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room));
        using var http = new HttpClient { BaseAddress = Server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var posted = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new ServiceMessageRequest("audit-svc", "secret payroll text"));
        using var userHttp = new HttpClient { BaseAddress = Server.BaseAddress };
        userHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TestTokens.For("audit-stranger"));
        var forbidden = await userHttp.PostAsJsonAsync($"/api/rooms/{room}/messages", new ServiceMessageRequest("x", "blocked text"));

        var body = await http.GetStringAsync($"/api/audit?roomId={room}&limit=1000");
        var records = (await http.GetFromJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}&limit=1000"))!;
        var byGuest = (await http.GetFromJsonAsync<AuditRecord[]>("/api/audit?userId=audit-guest&limit=1000"))!;
        var later = (await http.GetFromJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}&from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"))}"))!;
        AuditRecord One(string action, string? outcome = "ok") => records.Single(r => r.Action == action && r.Outcome == outcome);

        Assert.Multiple(() =>
        {
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(forbidden.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(denied!.Message, Does.Contain("not_found"));
            Assert.That(records.Count(r => r.Action == "KickUser"), Is.EqualTo(1));
            Assert.That(One("KickUser"), Has.Property("Actor").EqualTo("audit-owner").And.Property("Via").EqualTo("hub")
                .And.Property("RoomId").EqualTo(room).And.Property("TargetUserId").EqualTo("audit-guest"));
            Assert.That(records.Count(r => r.Action == "RevokeInvite"), Is.EqualTo(1));
            Assert.That(One("RevokeInvite").TargetUserId, Is.EqualTo("audit-guest"));
            Assert.That(records.Count(r => r.Action == "UpdateRoom"), Is.EqualTo(2), "one per permission change");
            Assert.That(records.Count(r => r.Action == "JoinRoom"), Is.EqualTo(1), "one denied join; allowed joins are no owner action");
            Assert.That(One("JoinRoom", ErrorCodes.NotFound).Actor, Is.EqualTo("audit-stranger"));
            Assert.That(One("JoinRoom", ErrorCodes.NotFound).RefId, Is.Not.Empty.And.Matches(@"^[0-9a-f]{12}$"));
            Assert.That(denied.Message, Does.EndWith($"(ref {One("JoinRoom", ErrorCodes.NotFound).RefId})"), "the ref id the caller got");
            Assert.That(One("PostMessage"), Has.Property("Actor").EqualTo("audit-admin").And.Property("Via").EqualTo("api"));
            Assert.That(records.Count(r => r.Action == "PostMessage"), Is.EqualTo(2), "the admin's post and the user's refused one");
            Assert.That(One("PostMessage", ErrorCodes.Forbidden).Actor, Is.EqualTo("audit-stranger"));
            Assert.That(body, Does.Not.Contain("secret payroll text").And.Not.Contain("blocked text"), "no message text in the trail");
            Assert.That(Server.Logs.AllText(), Does.Not.Contain("secret payroll text").And.Not.Contain("blocked text").And.Not.Contain(AdminToken),
                "nor in any log line, nor the token");
            Assert.That(byGuest.Select(r => r.Action), Is.SupersetOf(new[] { "KickUser", "RevokeInvite", "InviteUser" }));
            Assert.That(records.Select(r => r.Time), Is.Ordered.Descending, "newest first");
            Assert.That(later, Is.Empty, "the time filter");
            Assert.That(Server.Logs.Lines.Count(l => l.Category == "Hubs.Audit" && l.Message.Contains("KickUser") && l.Message.Contains(room)), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task OwnerActionRefusedByTheService_OneRecord_UnderTheRefIdTheCallerGot()
    {
        using var metrics = new MetricsRecorder(Server);
        var room = NewRoomId("audit");
        var owner = await ConnectAsync("audit-refused-owner");
        var other = await ConnectAsync("audit-refused-other");
        await owner.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        var kickSelf = Assert.ThrowsAsync<HubException>(() => owner.InvokeAsync(nameof(IRoomHub.KickUser), room, "audit-refused-owner"));
        var taken = Assert.ThrowsAsync<HubException>(() => other.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public)));
        using var http = new HttpClient { BaseAddress = Server.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);

        var records = (await http.GetFromJsonAsync<AuditRecord[]>($"/api/audit?roomId={room}&limit=1000"))!;

        Assert.Multiple(() =>
        {
            Assert.That(kickSelf!.Message, Does.StartWith($"{ErrorCodes.InvalidArgument}: "));
            Assert.That(taken!.Message, Does.StartWith($"{ErrorCodes.Conflict}: "));
            Assert.That(records.Where(r => r.Action == "KickUser").Select(r => (r.Actor, r.TargetUserId, r.Outcome, $"(ref {r.RefId})")),
                Is.EqualTo(new[] { ("audit-refused-owner", (string?)"audit-refused-owner", ErrorCodes.InvalidArgument, kickSelf.Message[^18..]) }));
            Assert.That(records.Where(r => r.Action == "CreateRoom").Select(r => (r.Actor, r.Outcome)),
                Is.EquivalentTo(new[] { ("audit-refused-owner", "ok"), ("audit-refused-other", ErrorCodes.Conflict) }));
            Assert.That(taken.Message, Does.EndWith($"(ref {records.Single(r => r.Outcome == ErrorCodes.Conflict).RefId})"));
            Assert.That(metrics.Sum("hubs.audit.records", $"action=KickUser,outcome={ErrorCodes.InvalidArgument}"), Is.EqualTo(1), "the counter, once per record");
            Assert.That(metrics.Sum("hubs.audit.records", "action=CreateRoom,outcome=ok"), Is.EqualTo(1));
            Assert.That(metrics.Sum("hubs.audit.records", $"action=CreateRoom,outcome={ErrorCodes.Conflict}"), Is.EqualTo(1));
        });
    }
}
