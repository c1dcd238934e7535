using System.Collections.Concurrent;

namespace Hubs.Server.Presence;

/// <summary>
/// The connections open on this node (id → user id and where the connection is in its life). Shared presence is
/// reconciled against it both ways: an entry of this node in shared presence that is not here is stale (its departure
/// failed while Redis was away) and is removed; a connection here that is present but whose entry is gone from shared
/// presence (reaped after a partition, or lost by Redis) is closed so that it reconnects and joins again (T27).
/// </summary>
internal sealed class LocalConnections
{
    private readonly ConcurrentDictionary<string, Entry> _connections = new(StringComparer.Ordinal);

    public int Count => _connections.Count;

    /// <summary>Known here before it exists in shared presence, so reconciliation never mistakes it for stale.</summary>
    public void Add(string connectionId, string userId) => _connections[connectionId] = new Entry(userId, ConnectionPhase.Connecting);

    /// <summary>Its entry in shared presence exists: from now on a missing entry means it was lost.</summary>
    public void Present(string connectionId) => Move(connectionId, ConnectionPhase.Present);

    /// <summary>Its departure from shared presence has begun: a missing entry is expected.</summary>
    public void Departing(string connectionId) => Move(connectionId, ConnectionPhase.Departing);

    public void Remove(string connectionId) => _connections.TryRemove(connectionId, out _);

    public bool Contains(string connectionId) => _connections.ContainsKey(connectionId);

    /// <summary>The connections whose entry in shared presence must exist.</summary>
    public IReadOnlyList<string> PresentIds() =>
        [.. _connections.Where(c => c.Value.Phase == ConnectionPhase.Present).Select(c => c.Key)];

    /// <summary>Whether the connection is still open here and present (not connecting, not departing).</summary>
    public bool IsPresent(string connectionId) =>
        _connections.TryGetValue(connectionId, out var entry) && entry.Phase == ConnectionPhase.Present;

    private void Move(string connectionId, ConnectionPhase phase)
    {
        while (_connections.TryGetValue(connectionId, out var entry)
            && !_connections.TryUpdate(connectionId, entry with { Phase = phase }, entry))
        {
        }
    }

    private enum ConnectionPhase
    {
        Connecting,
        Present,
        Departing,
    }

    private sealed record Entry(string UserId, ConnectionPhase Phase);
}
