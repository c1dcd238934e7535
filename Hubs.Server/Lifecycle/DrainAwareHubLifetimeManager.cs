using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Lifecycle;

/// <summary>
/// The registered lifetime manager (in-process or the Redis backplane), unchanged, except that it tells
/// <see cref="NodeDrain"/> of every connection: only the lifetime manager sees the <see cref="HubConnectionContext"/>
/// through which a close message that allows reconnecting can be sent.
/// </summary>
internal sealed class DrainAwareHubLifetimeManager<THub>(HubLifetimeManager<THub> inner, NodeDrain drain) : DelegatingHubLifetimeManager<THub>(inner)
    where THub : Hub
{
    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        await base.OnConnectedAsync(connection);
        drain.Connected(connection);
    }

    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        drain.Disconnected(connection);
        await base.OnDisconnectedAsync(connection);
    }
}
