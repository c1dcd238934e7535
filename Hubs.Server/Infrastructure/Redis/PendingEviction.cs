namespace Hubs.Server.Infrastructure.Redis;

/// <summary>An eviction recorded for the node holding the connection (<see cref="RedisKeys.NodeEvictions"/>).</summary>
internal sealed record PendingEviction(string ConnectionId, string RoomId, string Reason)
{
    // Connection ids, room ids and reasons never hold '|'.
    public static string Format(string connectionId, string roomId, string reason) => $"{connectionId}|{roomId}|{reason}";

    public static PendingEviction Parse(string record)
    {
        var parts = record.Split('|', 3);
        return new PendingEviction(parts[0], parts[1], parts[2]);
    }
}
