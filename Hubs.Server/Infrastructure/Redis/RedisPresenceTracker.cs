using System.Text.Json;
using System.Text.Json.Serialization;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.Presence;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Cluster-wide presence. First join and last leave of a user in a room, and the per-user connection cap, are each
/// decided inside one Lua script, so two nodes racing cannot both announce (T15, T18). Every connection is also
/// recorded under the node that holds it, so a survivor can remove a dead node's presence (T20). A room's members are
/// also kept in two sets ordered by id (online, away) with their names, so a join, a bounded member list, a page and a
/// digest cost the same in a room of 10 and of 10,000 (contract version 2).
/// </summary>
internal sealed class RedisPresenceTracker(RedisGateway redis, RedisKeys keys, NodeIdentity node, CachedRoomViews views, IOptions<PresenceOptions> options)
    : IPresenceTracker
{
    private readonly int _threshold = options.Value.DigestThreshold;
    private readonly int _interval = options.Value.DigestIntervalMilliseconds;

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
                [
                    keys.RoomConnections(roomId), keys.RoomUsers(roomId), keys.ConnectionRooms(connectionId), keys.RoomOnline(roomId),
                    keys.RoomAway(roomId), keys.RoomNames(roomId), keys.RoomDigest(roomId), keys.RoomPending(roomId), keys.UserStatus(user.UserId),
                    keys.RoomDigestLast(roomId),
                ],
                [
                    connectionId, user.UserId, Entry.Serialize(connectionId, user, node.Id), maxMembers, roomId, maxRoomsPerConnection,
                    keys.RoomChangesName, user.DisplayName, _threshold, _interval,
                ]))!;
            var status = (long)result[0] switch
            {
                0 => JoinStatus.Joined,
                1 => JoinStatus.AlreadyJoined,
                2 => JoinStatus.RoomFull,
                _ => JoinStatus.TooManyRooms,
            };
            var outcome = new JoinOutcome(status, (long)result[1] == 1, new PresenceShift((int)result[2], (long)result[3] == 1, (long)result[4] == 1));
            if (outcome.FirstOfUser && (!outcome.Shift.Digest || outcome.Shift.Switched))
            {
                // The member count changed: the script told the other nodes, this one drops its view now. (A digest
                // room's count is carried by its digests; its views may lag by their age rather than churn with every join.)
                views.Invalidate(roomId);
            }

            return outcome;
        }, cancellationToken);

    public Task<LeaveOutcome> LeaveAsync(string roomId, string connectionId, CancellationToken cancellationToken) =>
        LeaveAsync("presence.leave", roomId, connectionId, [connectionId, roomId, keys.RoomChangesName, _threshold], cancellationToken);

    /// <summary>The leave, and the eviction recorded for the node holding the connection (<see cref="RedisKeys.NodeEvictions"/>), in one step.</summary>
    public Task<LeaveOutcome> EvictAsync(string roomId, PresenceEntry entry, string reason, CancellationToken cancellationToken) =>
        LeaveAsync(
            "presence.evict", roomId, entry.ConnectionId, [entry.ConnectionId, roomId, keys.RoomChangesName, _threshold, keys.NodeEvictionsPrefix, reason],
            cancellationToken);

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
                [
                    keys.RoomConnections(roomId), keys.RoomUsers(roomId), keys.ConnectionRooms(connectionId), keys.RoomOnline(roomId),
                    keys.RoomAway(roomId), keys.RoomNames(roomId), keys.RoomDigest(roomId), keys.RoomPending(roomId), keys.RoomDigestLast(roomId),
                ],
                arguments);
            if (result.IsNull)
            {
                return new LeaveOutcome(false, false, null);
            }

            var parts = (RedisResult[])result!;
            var lastOfUser = (long)parts[1] == 1;
            var shift = new PresenceShift((int)parts[2], (long)parts[3] == 1, (long)parts[4] == 1);
            if (lastOfUser && (!shift.Digest || shift.Switched))
            {
                views.Invalidate(roomId);
            }

            var final = parts.Length > 5 ? ReadDigest(roomId, (RedisResult[])parts[5]!) : null;
            return new LeaveOutcome(true, lastOfUser, Entry.Deserialize((string)parts[0]!).User, shift, final);
        }, cancellationToken);

    public Task<bool> IsJoinedAsync(string roomId, string connectionId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.joined", db => db.HashExistsAsync(keys.RoomConnections(roomId), connectionId), cancellationToken);

    public Task<IReadOnlyList<PresenceEntry>> GetConnectionsAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.connections", async db =>
            (IReadOnlyList<PresenceEntry>)(await db.HashValuesAsync(keys.RoomConnections(roomId))).Select(v => Entry.Deserialize(v.ToString())).ToArray(),
            cancellationToken);

    public Task<IReadOnlyList<PresenceEntry>> GetUserConnectionsAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.connections", async db =>
        {
            var entries = (RedisValue[])(await db.ScriptEvaluateAsync(RedisScripts.UserEntries, [keys.UserConnections(userId), keys.RoomConnections(roomId)]))!;
            return (IReadOnlyList<PresenceEntry>)entries.Where(v => !v.IsNull).Select(v => Entry.Deserialize(v.ToString())).ToArray();
        }, cancellationToken);

    public Task<IReadOnlyList<string>> GetRoomsAsync(string connectionId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.rooms", async db =>
            (IReadOnlyList<string>)(await db.SetMembersAsync(keys.ConnectionRooms(connectionId))).Select(v => v.ToString()).ToArray(),
            cancellationToken);

    public async Task<IReadOnlyList<MemberInfo>> GetMembersAsync(string roomId, CancellationToken cancellationToken) =>
        (await GetMembersPageAsync(roomId, null, int.MaxValue - 1, cancellationToken)).Members;

    public Task<JoinMembers> GetJoinMembersAsync(string roomId, int limit, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.members", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.JoinMembers,
                [keys.RoomOnline(roomId), keys.RoomAway(roomId), keys.RoomNames(roomId), keys.RoomUsers(roomId), keys.RoomDigest(roomId)],
                [limit]))!;
            var online = (int)result[2];
            var ids = (string[])result[3]!;
            var names = (RedisValue[])result[4]!;
            var members = ids.Select((id, i) => Member(id, names[i], i < online ? PresenceStatus.Online : PresenceStatus.Away)).ToArray();
            return new JoinMembers(members, new RoomSize((int)result[0], (long)result[1] == 1));
        }, cancellationToken);

    public Task<MembersPage> GetMembersPageAsync(string roomId, string? afterUserId, int limit, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.page", async db =>
        {
            // One more than asked tells whether any follow.
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.MembersPage,
                [keys.RoomOnline(roomId), keys.RoomAway(roomId), keys.RoomNames(roomId)],
                [afterUserId ?? "", limit + 1]))!;
            var online = Members((string[])result[0]!, (RedisValue[])result[1]!, PresenceStatus.Online);
            var away = Members((string[])result[2]!, (RedisValue[])result[3]!, PresenceStatus.Away);
            var merged = online.Concat(away).OrderBy(m => m.UserId, StringComparer.Ordinal).Take(limit + 1).ToList();
            var more = merged.Count > limit;
            if (more)
            {
                merged.RemoveAt(merged.Count - 1);
            }

            return new MembersPage(merged, more ? merged[^1].UserId : null);
        }, cancellationToken);

    public Task<RoomSize> GetSizeAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.count", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(RedisScripts.RoomSize, [keys.RoomUsers(roomId), keys.RoomDigest(roomId)]))!;
            return new RoomSize((int)result[0], (long)result[1] == 1);
        }, cancellationToken);

    public Task<int> CountConnectionsAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("presence.count", async db => (int)await db.HashLengthAsync(keys.RoomConnections(roomId)), cancellationToken);

    public Task<StatusOutcome> SetStatusAsync(string userId, string status, CancellationToken cancellationToken) =>
        redis.WriteAsync("presence.status", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.SetStatus,
                [keys.UserConnections(userId), keys.UserStatus(userId)],
                [status, keys.ConnectionRoomsPrefix, keys.RoomPrefix, userId]))!;
            return new StatusOutcome((string[])result[0]!, (string[])result[1]!);
        }, cancellationToken);

    public Task<DigestTake> TakeDigestAsync(string roomId, TimeSpan interval, CancellationToken cancellationToken) =>
        redis.WriteAsync("presence.digest", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.TakeDigest,
                [keys.RoomDigest(roomId), keys.RoomPending(roomId), keys.RoomAway(roomId), keys.RoomNames(roomId), keys.RoomUsers(roomId), keys.RoomDigestLast(roomId)],
                [(long)interval.TotalMilliseconds]))!;
            return (long)result[0] switch
            {
                1 => new DigestTake(null, TimeSpan.FromMilliseconds((long)result[1])),
                2 => new DigestTake(ReadDigest(roomId, (RedisResult[])result[1]!), null),
                _ => default,
            };
        }, cancellationToken);

    public Task<TypingAdmission> AdmitTypingAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        redis.WriteAsync("presence.typing", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.AdmitTyping,
                [keys.UserConnections(userId), keys.RoomDigest(roomId), keys.RoomTypists(roomId)],
                [userId, LargeRoomBounds.TypistsPerSecond, 1000]))!;
            return new TypingAdmission((long)result[0] == 1, (string[])result[1]!);
        }, cancellationToken);

    /// <summary>A digest as the scripts return it (see <see cref="RedisScripts.TakeDigest"/>).</summary>
    private static PresenceDigestEvent ReadDigest(string roomId, RedisResult[] parts)
    {
        static MemberInfo[] Triples(RedisResult[] flat) =>
            Enumerable.Range(0, flat.Length / 3).Select(i => new MemberInfo((string)flat[3 * i]!, (string)flat[(3 * i) + 1]!, (string)flat[(3 * i) + 2]!)).ToArray();

        return new PresenceDigestEvent(
            roomId,
            (int)parts[0],
            Triples((RedisResult[])parts[2]!),
            (string[])parts[3]!,
            Triples((RedisResult[])parts[4]!),
            (long)parts[1] == 1);
    }

    private static MemberInfo[] Members(string[] ids, RedisValue[] names, string status) =>
        ids.Select((id, i) => Member(id, names[i], status)).ToArray();

    private static MemberInfo Member(string userId, RedisValue name, string status) => new(userId, name.IsNullOrEmpty ? userId : name.ToString(), status);

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
