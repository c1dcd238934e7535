using System.Text.Json;
using System.Text.Json.Serialization;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Presence;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Cluster-wide presence. First join and last leave of a user in a room, and the per-user connection cap, are each
/// decided inside one Lua script, so two nodes racing cannot both announce (T15, T18). Every connection is also
/// recorded under the node that holds it, so a survivor can remove a dead node's presence (T20).
/// </summary>
internal sealed class RedisPresenceTracker(RedisGateway redis, RedisKeys keys, NodeIdentity node, CachedRoomViews views) : IPresenceTracker
{
    public Task<bool> ConnectAsync(string connectionId, HubsUser user, int maxConnectionsPerUser, CancellationToken cancellationToken) =>
        redis.WriteAsync("presence.connect", async db => (long)await db.ScriptEvaluateAsync(
            RedisScripts.Connect,
            [keys.UserConnections(user.UserId), keys.NodeConnections(node.Id)],
            [connectionId, maxConnectionsPerUser, user.UserId]) == 1, cancellationToken);

    public Task DisconnectAsync(string connectionId, string userId, CancellationToken cancellationToken) =>
        redis.WriteAsync("presence.disconnect", db => db.ScriptEvaluateAsync(
            RedisScripts.Disconnect,
            [keys.UserConnections(userId), keys.NodeConnections(node.Id), keys.ConnectionRooms(connectionId), keys.UserStatus(userId)],
            [connectionId]), cancellationToken);

    public Task<JoinOutcome> JoinAsync(string roomId, string connectionId, HubsUser user, int maxMembers, int maxRoomsPerConnection, CancellationToken cancellationToken) =>
        redis.WriteAsync("presence.join", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.Join,
                [keys.RoomConnections(roomId), keys.RoomUsers(roomId), keys.ConnectionRooms(connectionId)],
                [connectionId, user.UserId, Entry.Serialize(connectionId, user, node.Id), maxMembers, roomId, maxRoomsPerConnection, keys.RoomChangesName]))!;
            var status = (long)result[0] switch
            {
                0 => JoinStatus.Joined,
                1 => JoinStatus.AlreadyJoined,
                2 => JoinStatus.RoomFull,
                _ => JoinStatus.TooManyRooms,
            };
            var outcome = new JoinOutcome(status, (long)result[1] == 1);
            if (outcome.FirstOfUser)
            {
                // The member count changed: the script told the other nodes, this one drops its view now.
                views.Invalidate(roomId);
            }

            return outcome;
        }, cancellationToken);

    public Task<LeaveOutcome> LeaveAsync(string roomId, string connectionId, CancellationToken cancellationToken) =>
        LeaveAsync("presence.leave", roomId, connectionId, [connectionId, roomId, keys.RoomChangesName], cancellationToken);

    /// <summary>The leave, and the eviction recorded for the node holding the connection (<see cref="RedisKeys.NodeEvictions"/>), in one step.</summary>
    public Task<LeaveOutcome> EvictAsync(string roomId, PresenceEntry entry, string reason, CancellationToken cancellationToken) =>
        LeaveAsync(
            "presence.evict", roomId, entry.ConnectionId, [entry.ConnectionId, roomId, keys.RoomChangesName, keys.NodeEvictionsPrefix, reason], cancellationToken);

    public Task EvictionDeliveredAsync(string roomId, PresenceEntry entry, string reason, CancellationToken cancellationToken) =>
        entry.Node is null
            ? Task.CompletedTask
            : redis.WriteAsync("presence.evicted", db => db.SetRemoveAsync(keys.NodeEvictions(entry.Node), PendingEviction.Format(entry.ConnectionId, roomId, reason)), cancellationToken);

    /// <summary>Evictions of <paramref name="nodeId"/>'s connections not known to be delivered.</summary>
    public async Task<IReadOnlyList<PendingEviction>> GetEvictionsAsync(string nodeId, CancellationToken cancellationToken) =>
        (await redis.ReadAsync("presence.evictions", db => db.SetMembersAsync(keys.NodeEvictions(nodeId)), cancellationToken))
            .Select(v => PendingEviction.Parse(v.ToString())).ToArray();

    /// <summary>The node holding the connection delivered the eviction itself.</summary>
    public Task EvictionCompletedAsync(string nodeId, PendingEviction eviction, CancellationToken cancellationToken) =>
        redis.WriteAsync("presence.evicted", db => db.SetRemoveAsync(
            keys.NodeEvictions(nodeId), PendingEviction.Format(eviction.ConnectionId, eviction.RoomId, eviction.Reason)), cancellationToken);

    private Task<LeaveOutcome> LeaveAsync(string operation, string roomId, string connectionId, RedisValue[] arguments, CancellationToken cancellationToken) =>
        redis.WriteAsync(operation, async db =>
        {
            var result = await db.ScriptEvaluateAsync(
                RedisScripts.Leave,
                [keys.RoomConnections(roomId), keys.RoomUsers(roomId), keys.ConnectionRooms(connectionId)],
                arguments);
            if (result.IsNull)
            {
                return new LeaveOutcome(false, false, null);
            }

            var parts = (RedisResult[])result!;
            var lastOfUser = (long)parts[1] == 1;
            if (lastOfUser)
            {
                views.Invalidate(roomId);
            }

            return new LeaveOutcome(true, lastOfUser, Entry.Deserialize((string)parts[0]!).User);
        }, cancellationToken);

    public Task<bool> IsJoinedAsync(string roomId, string connectionId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.joined", db => db.HashExistsAsync(keys.RoomConnections(roomId), connectionId), cancellationToken);

    public Task<IReadOnlyList<PresenceEntry>> GetConnectionsAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.connections", async db =>
            (IReadOnlyList<PresenceEntry>)(await db.HashValuesAsync(keys.RoomConnections(roomId))).Select(v => Entry.Deserialize(v.ToString())).ToArray(),
            cancellationToken);

    public Task<IReadOnlyList<string>> GetRoomsAsync(string connectionId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.rooms", async db =>
            (IReadOnlyList<string>)(await db.SetMembersAsync(keys.ConnectionRooms(connectionId))).Select(v => v.ToString()).ToArray(),
            cancellationToken);

    public async Task<IReadOnlyList<MemberInfo>> GetMembersAsync(string roomId, CancellationToken cancellationToken)
    {
        var users = (await GetConnectionsAsync(roomId, cancellationToken))
            .Select(e => e.User)
            .DistinctBy(u => u.UserId)
            .OrderBy(u => u.UserId, StringComparer.Ordinal)
            .ToArray();
        if (users.Length == 0)
        {
            return [];
        }

        var statuses = await redis.ReadAsync("presence.status", db =>
            db.StringGetAsync(users.Select(u => keys.UserStatus(u.UserId)).ToArray()), cancellationToken);
        return users.Select((u, i) => new MemberInfo(u.UserId, u.DisplayName, statuses[i].IsNullOrEmpty ? PresenceStatus.Online : statuses[i].ToString()))
            .ToArray();
    }

    public Task<int> CountMembersAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.count", async db => (int)await db.HashLengthAsync(keys.RoomUsers(roomId)), cancellationToken);

    public Task<int> CountConnectionsAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.count", async db => (int)await db.HashLengthAsync(keys.RoomConnections(roomId)), cancellationToken);

    public Task<IReadOnlyList<string>> SetStatusAsync(string userId, string status, CancellationToken cancellationToken) =>
        redis.WriteAsync("presence.status", async db =>
            (IReadOnlyList<string>)((string[])(await db.ScriptEvaluateAsync(
                RedisScripts.SetStatus,
                [keys.UserConnections(userId), keys.UserStatus(userId)],
                [status, keys.ConnectionRoomsPrefix]))!),
            cancellationToken);

    /// <summary>Connections (id → user id) that <paramref name="nodeId"/> holds.</summary>
    public Task<HashEntry[]> GetNodeConnectionsAsync(string nodeId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.node", db => db.HashGetAllAsync(keys.NodeConnections(nodeId)), cancellationToken);

    /// <summary>The presence entry as stored: short names, and <c>u</c> and <c>o</c> (the node holding it) read by the leave script.</summary>
    private sealed record Entry(
        [property: JsonPropertyName("c")] string ConnectionId,
        [property: JsonPropertyName("u")] string UserId,
        [property: JsonPropertyName("n")] string DisplayName,
        [property: JsonPropertyName("r")] string[] Roles,
        [property: JsonPropertyName("o")] string? Node)
    {
        public static string Serialize(string connectionId, HubsUser user, string node) =>
            JsonSerializer.Serialize(new Entry(connectionId, user.UserId, user.DisplayName, user.Roles.ToArray(), node));

        public static PresenceEntry Deserialize(string json)
        {
            var entry = JsonSerializer.Deserialize<Entry>(json)!;
            return new PresenceEntry(entry.ConnectionId, new HubsUser(entry.UserId, entry.DisplayName, entry.Roles, null), entry.Node);
        }
    }
}
