namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Lua scripts: each multi-step change is one script, so it is atomic across every node (no check-then-act between
/// round trips). StackExchange.Redis sends them by SHA after the first call.
/// </summary>
internal static class RedisScripts
{
    /// <summary>KEYS: room, rooms. ARGV: json, roomId. 1 when created, 0 when the id is taken.</summary>
    public const string CreateRoom = """
        if redis.call('SETNX', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('SADD', KEYS[2], ARGV[2])
        return 1
        """;

    /// <summary>KEYS: room, invites, kicks. ARGV: userId. {json or nil, invited, kicked}.</summary>
    public const string GetWithGrants = """
        return { redis.call('GET', KEYS[1]) or false, redis.call('SISMEMBER', KEYS[2], ARGV[1]), redis.call('SISMEMBER', KEYS[3], ARGV[1]) }
        """;

    /// <summary>KEYS: room, invites, kicks, room users. ARGV: userId. {json or nil, invited, kicked, members}.</summary>
    public const string GetRoomView = """
        return { redis.call('GET', KEYS[1]) or false, redis.call('SISMEMBER', KEYS[2], ARGV[1]), redis.call('SISMEMBER', KEYS[3], ARGV[1]), redis.call('HLEN', KEYS[4]) }
        """;

    /// <summary>KEYS: rooms. ARGV: userId, key prefix. Flat {json, invited, kicked, …} for every room.</summary>
    public const string ListRooms = """
        local out = {}
        for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local base = ARGV[2] .. 'room:{' .. id .. '}'
          local json = redis.call('GET', base)
          if json then
            table.insert(out, json)
            table.insert(out, redis.call('SISMEMBER', base .. ':invites', ARGV[1]))
            table.insert(out, redis.call('SISMEMBER', base .. ':kicks', ARGV[1]))
          end
        end
        return out
        """;

    /// <summary>
    /// KEYS: room, invites, kicks, seq, history, rooms, message ids, message id order. ARGV: roomId, room-changes
    /// channel. 1 when deleted.
    /// </summary>
    public const string DeleteRoom = """
        if redis.call('DEL', KEYS[1]) == 0 then return 0 end
        redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[7], KEYS[8])
        redis.call('SREM', KEYS[6], ARGV[1])
        redis.call('PUBLISH', ARGV[2], ARGV[1])
        return 1
        """;

    /// <summary>
    /// KEYS: room, add-to set, remove-from set. ARGV: userId, roomId, room-changes channel. Invite (add invite, lift
    /// kick) or kick (the reverse).
    /// </summary>
    public const string MoveGrant = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('SADD', KEYS[2], ARGV[1])
        redis.call('SREM', KEYS[3], ARGV[1])
        redis.call('PUBLISH', ARGV[3], ARGV[2])
        return 1
        """;

    /// <summary>KEYS: room, invites. ARGV: userId, roomId, room-changes channel.</summary>
    public const string RevokeInvite = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('SREM', KEYS[2], ARGV[1])
        redis.call('PUBLISH', ARGV[3], ARGV[2])
        return 1
        """;

    /// <summary>
    /// KEYS: room, seq, history, message ids, message id order, room conns, sender's budget. ARGV: draft json, history
    /// size, sender's message id field ('' for none), sending connection ('' for a service post, which is not
    /// admitted), tokens per second, burst. Admission, sequence, store and trim as one step, so the sequence is gapless
    /// cluster-wide under concurrent senders and a send costs one round trip. {-1} when the room no longer exists;
    /// {-2} when the connection is not in the room (no token spent); {-3} when the sender's budget in the room is
    /// spent; {sequence, 'd', stored member} when the sender already sent this id and the message is still in the
    /// history (nothing stored); {sequence, 'n', connections in the room} for a new message. Ids of trimmed messages
    /// are dropped with them. The bucket is timed by Redis's own clock so that nodes' clocks do not matter, and its key
    /// expires once it would be full again, so idle users leave nothing behind.
    /// </summary>
    public const string AppendMessage = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
        if ARGV[4] ~= '' then
          if redis.call('HEXISTS', KEYS[6], ARGV[4]) == 0 then return {-2} end
          local rate, burst = tonumber(ARGV[5]), tonumber(ARGV[6])
          local time = redis.call('TIME')
          local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
          local state = redis.call('HMGET', KEYS[7], 't', 'ts')
          local tokens, stamp = tonumber(state[1]), tonumber(state[2])
          if not tokens then tokens, stamp = burst, now end
          tokens = math.min(burst, tokens + (now - stamp) * rate / 1000)
          local admitted = tokens >= 1
          if admitted then tokens = tokens - 1 end
          redis.call('HSET', KEYS[7], 't', tostring(tokens), 'ts', now)
          redis.call('PEXPIRE', KEYS[7], math.ceil((burst - tokens) / rate * 1000) + 1000)
          if not admitted then return {-3} end
        end
        local id = ARGV[3]
        if id ~= '' then
          local seen = redis.call('HGET', KEYS[4], id)
          if seen then
            local kept = redis.call('ZRANGEBYSCORE', KEYS[3], seen, seen)
            if kept[1] then return {tonumber(seen), 'd', kept[1]} end
            redis.call('HDEL', KEYS[4], id)
            redis.call('ZREM', KEYS[5], id)
          end
        end
        local s = redis.call('INCR', KEYS[2])
        redis.call('ZADD', KEYS[3], s, s .. '|' .. ARGV[1])
        if id ~= '' then
          redis.call('HSET', KEYS[4], id, s)
          redis.call('ZADD', KEYS[5], s, id)
        end
        redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[2]) + 1))
        local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
        if oldest[2] then
          local stale = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. oldest[2])
          if #stale > 0 then
            redis.call('HDEL', KEYS[4], unpack(stale))
            redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. oldest[2])
          end
        end
        return {s, 'n', redis.call('HLEN', KEYS[6])}
        """;

    /// <summary>KEYS: room. ARGV: json, roomId, room-changes channel. 1 when replaced, 0 when the room no longer exists.</summary>
    public const string UpdateRoom = """
        if redis.call('SET', KEYS[1], ARGV[1], 'XX') == false then return 0 end
        redis.call('PUBLISH', ARGV[3], ARGV[2])
        return 1
        """;

    /// <summary>KEYS: user conns, node conns. ARGV: connectionId, cap, userId. 1 when admitted under the cluster-wide cap.</summary>
    public const string Connect = """
        if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
        redis.call('SADD', KEYS[1], ARGV[1])
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
        return 1
        """;

    /// <summary>KEYS: user conns, node conns, connection rooms, user status. ARGV: connectionId.</summary>
    public const string Disconnect = """
        redis.call('SREM', KEYS[1], ARGV[1])
        redis.call('HDEL', KEYS[2], ARGV[1])
        redis.call('DEL', KEYS[3])
        if redis.call('SCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[4]) end
        return 1
        """;

    /// <summary>
    /// KEYS: room conns, room users, connection rooms. ARGV: connectionId, userId, entry json, maxMembers, roomId,
    /// maxRoomsPerConnection, room-changes channel. {status, firstOfUser}: status 0 joined, 1 already joined, 2 room
    /// full, 3 too many rooms. First of user is decided here, once (T18); it changes the member count, which every
    /// node's cached view hears of.
    /// </summary>
    public const string Join = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {1, 0} end
        if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[6]) then return {3, 0} end
        local count = redis.call('HGET', KEYS[2], ARGV[2])
        if not count and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return {2, 0} end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
        redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
        redis.call('SADD', KEYS[3], ARGV[5])
        if count then return {0, 0} end
        redis.call('PUBLISH', ARGV[7], ARGV[5])
        return {0, 1}
        """;

    /// <summary>
    /// KEYS: room conns, room users, connection rooms. ARGV: connectionId, roomId, room-changes channel, and for an
    /// eviction the node-evictions key prefix and the reason. {entry json, lastOfUser} or nil when the connection was not
    /// in the room. Last of user is decided here, once; it changes the member count. An eviction is recorded for the node
    /// that holds the connection (the entry's <c>o</c>) in the same step, so it cannot be lost between here and that node.
    /// </summary>
    public const string Leave = """
        local entry = redis.call('HGET', KEYS[1], ARGV[1])
        if not entry then return false end
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('SREM', KEYS[3], ARGV[2])
        local decoded = cjson.decode(entry)
        if ARGV[5] and type(decoded['o']) == 'string' then
          redis.call('SADD', ARGV[4] .. decoded['o'] .. '}:evictions', ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[5])
        end
        local user = decoded['u']
        if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
          redis.call('HDEL', KEYS[2], user)
          redis.call('PUBLISH', ARGV[3], ARGV[2])
          return {entry, 1}
        end
        return {entry, 0}
        """;

    /// <summary>KEYS: user conns, user status. ARGV: status, connection-rooms key prefix. The user's rooms; nothing when not connected.</summary>
    public const string SetStatus = """
        local conns = redis.call('SMEMBERS', KEYS[1])
        if #conns == 0 then return {} end
        redis.call('SET', KEYS[2], ARGV[1])
        local seen, rooms = {}, {}
        for _, c in ipairs(conns) do
          for _, r in ipairs(redis.call('SMEMBERS', ARGV[2] .. c .. '}:rooms')) do
            if not seen[r] then seen[r] = true; table.insert(rooms, r) end
          end
        end
        return rooms
        """;

    /// <summary>
    /// KEYS: node alive, nodes, node conns, node reaper, node evictions, node reaped. ARGV: stamp, lifetime in ms, nodeId.
    /// {lapsed, recorded, evictions, reaped}: lapsed 1 when the alive key had expired (Redis was away, or this node
    /// stalled, for longer than its lifetime); recorded, how many connections shared presence holds for the node;
    /// evictions, how many of its connections' evictions are not known to be delivered; reaped, how many of its
    /// connections a survivor took for dead. A reaper's lease on a node that heartbeats is void: dropping it lets a
    /// survivor reap this node at once if it dies soon after.
    /// </summary>
    public const string Heartbeat = """
        local lapsed = redis.call('EXISTS', KEYS[1]) == 0
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        redis.call('SADD', KEYS[2], ARGV[3])
        redis.call('DEL', KEYS[4])
        return { lapsed and 1 or 0, redis.call('HLEN', KEYS[3]), redis.call('SCARD', KEYS[5]), redis.call('SCARD', KEYS[6]) }
        """;

    /// <summary>
    /// KEYS: node alive, node reaper. ARGV: reaper's nodeId, lease in ms. 1 when the node is still without a heartbeat
    /// and this survivor took the lease to reap it (fencing: one survivor reaps a node, once).
    /// </summary>
    public const string ClaimReap = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
        return 0
        """;

    /// <summary>
    /// KEYS: node alive, node reaped. ARGV: connectionId. -1 when the node heartbeats again (the reap stops: the node
    /// reconciles its own connections), 1 when the connection is marked as reaped, before it departs: should the node
    /// come back mid-way, it knows to close this connection. Its entry in the node's connections goes only once it has
    /// departed, so a reap that fails half-way is taken up again by the next one.
    /// </summary>
    public const string ReapConnection = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
        redis.call('SADD', KEYS[2], ARGV[1])
        return 1
        """;

    /// <summary>KEYS: node alive, node conns, nodes, node evictions, node reaped. ARGV: nodeId. Forgets a reaped node, unless it heartbeats again.</summary>
    public const string ForgetNode = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('DEL', KEYS[2], KEYS[4], KEYS[5])
        redis.call('SREM', KEYS[3], ARGV[1])
        return 1
        """;
}
