using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Authorization;

/// <summary>
/// No SignalR user id for any connection: with one, the Redis backplane subscribes a channel per user on every node
/// that holds one of the user's connections. A Hubs user is the token's <c>sub</c> (<see cref="HubsUser"/>), and
/// <c>Clients.User</c> reaches every connection of that user on every node through <see cref="Lifecycle.IUserMessages"/>.
/// </summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => null;
}
