using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;

namespace Hubs.Server.Lifecycle;

/// <summary>
/// Writes to this node's connections of the users. On one node it is the whole of <see cref="IUserMessages"/>; with
/// Redis every node runs it when the message arrives on the channel.
/// </summary>
internal sealed class LocalUserMessages(NodeDrain connections) : IUserMessages
{
    public Task SendAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken) =>
        DeliverAsync(userIds, new SerializedHubMessage(new InvocationMessage(methodName, args)), cancellationToken);

    /// <summary>Writes <paramref name="message"/> (serialized at most once per protocol) to the users' connections here.</summary>
    public Task DeliverAsync(IReadOnlyList<string> userIds, SerializedHubMessage message, CancellationToken cancellationToken)
    {
        var writes = new List<Task>();
        foreach (var userId in userIds.Distinct(StringComparer.Ordinal))
        {
            foreach (var connection in connections.ConnectionsOf(userId))
            {
                writes.Add(connection.WriteAsync(message, cancellationToken).AsTask());
            }
        }

        return Task.WhenAll(writes);
    }
}
