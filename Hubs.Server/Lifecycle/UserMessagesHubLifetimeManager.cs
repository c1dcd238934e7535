using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Lifecycle;

/// <summary>The registered lifetime manager, unchanged, except that sends to users go through <see cref="IUserMessages"/>.</summary>
internal sealed class UserMessagesHubLifetimeManager<THub>(HubLifetimeManager<THub> inner, IUserMessages users) : DelegatingHubLifetimeManager<THub>(inner)
    where THub : Hub
{
    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        users.SendAsync([userId], methodName, args, cancellationToken);

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        users.SendAsync(userIds, methodName, args, cancellationToken);
}
