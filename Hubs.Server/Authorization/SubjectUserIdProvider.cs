using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Authorization;

/// <summary>SignalR's user of a connection is the token's <c>sub</c>, so that <c>Clients.User</c> reaches every connection of a Hubs user on every node.</summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User.FindFirst(HubsUser.SubjectClaim)?.Value;
}
