namespace Hubs.Server.Lifecycle;

/// <summary>
/// <c>Clients.User</c> and <c>Clients.Users</c>: an invocation for every connection of the users, on every node.
/// SignalR's own user ids are not used for it (<see cref="Authorization.SubjectUserIdProvider"/>): with one, the Redis
/// backplane subscribes a channel per user on every node that holds one of the user's connections, a round trip at
/// connect and at disconnect and a message queue held while the connection is idle.
/// </summary>
internal interface IUserMessages
{
    Task SendAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken);
}
