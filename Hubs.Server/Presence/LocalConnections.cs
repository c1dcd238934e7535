using System.Collections.Concurrent;

namespace Hubs.Server.Presence;

/// <summary>
/// The connections open on this node (id → user id). Shared presence is reconciled against it: an entry of this
/// node that is not here is stale (its departure failed while Redis was away) and is removed then.
/// </summary>
internal sealed class LocalConnections
{
    private readonly ConcurrentDictionary<string, string> _connections = new(StringComparer.Ordinal);

    public int Count => _connections.Count;

    public void Add(string connectionId, string userId) => _connections[connectionId] = userId;

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    public bool Contains(string connectionId) => _connections.ContainsKey(connectionId);
}
