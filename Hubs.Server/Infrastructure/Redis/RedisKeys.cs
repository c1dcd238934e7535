using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Every Redis key Hubs uses, in one place. Keys of one room share a hash tag (<c>{room}</c>) so that the scripts
/// over them stay within one slot if the deployment moves to Redis Cluster.
/// </summary>
internal sealed class RedisKeys(IOptions<RedisOptions> options)
{
    private readonly string _p = options.Value.Prefix + ":";

    /// <summary>Set of every room id.</summary>
    public RedisKey Rooms => _p + "rooms";

    /// <summary>Prefix for scripts that build room keys from ids (<see cref="Room"/> is <c>RoomPrefix + "room:{" + id + "}"</c>).</summary>
    public string RoomPrefix => _p;

    /// <summary>String: the room's settings as JSON.</summary>
    public RedisKey Room(string roomId) => $"{_p}room:{{{roomId}}}";

    /// <summary>Set of invited user ids.</summary>
    public RedisKey Invites(string roomId) => $"{_p}room:{{{roomId}}}:invites";

    /// <summary>Set of kicked user ids.</summary>
    public RedisKey Kicks(string roomId) => $"{_p}room:{{{roomId}}}:kicks";

    /// <summary>Counter: the room's last sequence.</summary>
    public RedisKey Sequence(string roomId) => $"{_p}room:{{{roomId}}}:seq";

    /// <summary>Sorted set: stored messages scored by sequence.</summary>
    public RedisKey History(string roomId) => $"{_p}room:{{{roomId}}}:history";

    /// <summary>Hash: sender's client message id (see <see cref="RedisRoomMessageLog"/>) → sequence, for messages still in the history.</summary>
    public RedisKey MessageIds(string roomId) => $"{_p}room:{{{roomId}}}:msgids";

    /// <summary>Sorted set: the fields of <see cref="MessageIds"/> scored by sequence, so that trimming finds the old ones.</summary>
    public RedisKey MessageIdOrder(string roomId) => $"{_p}room:{{{roomId}}}:msgids:order";

    /// <summary>Hash: connection id → presence entry JSON, for connections in the room.</summary>
    public RedisKey RoomConnections(string roomId) => $"{_p}room:{{{roomId}}}:conns";

    /// <summary>Hash: user id → number of that user's connections in the room.</summary>
    public RedisKey RoomUsers(string roomId) => $"{_p}room:{{{roomId}}}:users";

    /// <summary>Sorted set (all scores 0, so ordered by id): the room's members whose status is online.</summary>
    public RedisKey RoomOnline(string roomId) => $"{_p}room:{{{roomId}}}:online";

    /// <summary>Sorted set (all scores 0): the room's members whose status is away.</summary>
    public RedisKey RoomAway(string roomId) => $"{_p}room:{{{roomId}}}:away";

    /// <summary>Hash: user id → display name, for the room's members.</summary>
    public RedisKey RoomNames(string roomId) => $"{_p}room:{{{roomId}}}:names";

    /// <summary>String: present while the room reports presence by digests (contract version 2).</summary>
    public RedisKey RoomDigest(string roomId) => $"{_p}room:{{{roomId}}}:digest";

    /// <summary>Hash: a digest room's net changes since its previous digest (see <see cref="Presence.PendingPresence"/>).</summary>
    public RedisKey RoomPending(string roomId) => $"{_p}room:{{{roomId}}}:pending";

    /// <summary>String with a TTL of one digest interval: present while the room's previous digest is that recent.</summary>
    public RedisKey RoomDigestLast(string roomId) => $"{_p}room:{{{roomId}}}:digest:last";

    /// <summary>Sorted set: a digest room's typists forwarded in the last second, scored by their latest forwarded signal.</summary>
    public RedisKey RoomTypists(string roomId) => $"{_p}room:{{{roomId}}}:typists";

    /// <summary>Hash with a TTL: one user's message token bucket in the room.</summary>
    public RedisKey MessageBudget(string roomId, string userId) => $"{_p}room:{{{roomId}}}:budget:{userId}";

    /// <summary>Set: rooms a connection has joined.</summary>
    public RedisKey ConnectionRooms(string connectionId) => $"{_p}conn:{{{connectionId}}}:rooms";

    /// <summary>Prefix of <see cref="ConnectionRooms"/> for scripts that walk a user's connections.</summary>
    public string ConnectionRoomsPrefix => _p + "conn:{";

    /// <summary>Set: a user's open connections across the cluster.</summary>
    public RedisKey UserConnections(string userId) => $"{_p}user:{{{userId}}}:conns";

    /// <summary>String: a connected user's status.</summary>
    public RedisKey UserStatus(string userId) => $"{_p}user:{{{userId}}}:status";

    /// <summary>String with a 30 s TTL: the JWT a single-use connection ticket stands for.</summary>
    public RedisKey Ticket(string ticket) => $"{_p}ticket:{ticket}";

    /// <summary>Set of node ids that have announced themselves.</summary>
    public RedisKey Nodes => _p + "nodes";

    /// <summary>String with a TTL: present while the node is alive.</summary>
    public RedisKey NodeAlive(string nodeId) => $"{_p}node:{{{nodeId}}}:alive";

    /// <summary>Hash: connection id → user id, for the node's connections.</summary>
    public RedisKey NodeConnections(string nodeId) => $"{_p}node:{{{nodeId}}}:conns";

    /// <summary>
    /// Set: evictions of the node's connections (<c>connectionId|roomId|reason</c>) whose group removal and notice are
    /// not yet known to be delivered; the node completes what is left (see <see cref="RedisPresenceTracker.EvictAsync"/>).
    /// </summary>
    public RedisKey NodeEvictions(string nodeId) => $"{_p}node:{{{nodeId}}}:evictions";

    /// <summary>Prefix of <see cref="NodeEvictions"/> for the script that knows the node only from a presence entry.</summary>
    public string NodeEvictionsPrefix => _p + "node:{";

    /// <summary>Set: the node's connections a survivor took for dead (marked before each departs); the node, if it comes back, closes them.</summary>
    public RedisKey NodeReaped(string nodeId) => $"{_p}node:{{{nodeId}}}:reaped";

    /// <summary>String with a TTL: the survivor that cleans up a dead node (fencing, so only one does).</summary>
    public RedisKey NodeReaper(string nodeId) => $"{_p}node:{{{nodeId}}}:reaper";

    /// <summary>Channel prefix of the SignalR backplane.</summary>
    /// <summary>String with a time to live: the user is banned while it exists.</summary>
    public RedisKey UserBan(string userId) => $"{_p}user:{{{userId}}}:ban";

    /// <summary>Stream: the audit trail.</summary>
    public RedisKey Audit => _p + "audit";

    /// <summary>Channel: user ids whose connections every node closes.</summary>
    public RedisChannel UserDisconnects => RedisChannel.Literal(_p + "user-disconnects");

    /// <summary>Room ids whose settings, grants or member count changed: each node drops its cached view.</summary>
    public RedisChannel RoomChanges => RedisChannel.Literal(RoomChangesName);

    /// <summary>The name of <see cref="RoomChanges"/>, for the scripts that publish on it.</summary>
    public string RoomChangesName => _p + "room-changes";

    public RedisChannel BackplanePrefix => RedisChannel.Literal(options.Value.Prefix);

    /// <summary>Pattern matching every key of this deployment (for tests and operators counting keys).</summary>
    public string AllKeysPattern => _p + "*";
}
