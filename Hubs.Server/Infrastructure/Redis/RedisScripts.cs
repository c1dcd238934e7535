using Hubs.Contracts;

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

    /// <summary>KEYS: room, invites, kicks, room users, room digest flag. ARGV: userId. {json or nil, invited, kicked, members, digest}.</summary>
    public const string GetRoomView = """
        return { redis.call('GET', KEYS[1]) or false, redis.call('SISMEMBER', KEYS[2], ARGV[1]), redis.call('SISMEMBER', KEYS[3], ARGV[1]), redis.call('HLEN', KEYS[4]), redis.call('EXISTS', KEYS[5]) }
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
    /// Lua: <c>take(pending, away, names, users)</c> takes a digest room's net changes (see <see cref="Presence.PendingPresence"/>
    /// for the encoding) and starts the ledger over: {members, truncated, joined {id, name, status, …}, left {id, …},
    /// changed {id, name, status, …}}, each list at most <see cref="LargeRoomBounds.DigestListLimit"/> members.
    /// </summary>
    private const string TakeFunction = """
        local function take(pending, away, names, users)
          local all = redis.call('HGETALL', pending)
          local joined, left, changed, truncated, limit = {}, {}, {}, 0, 100
          for i = 1, #all, 2 do
            local u, v = all[i], all[i + 1]
            local kind = string.sub(v, 1, 1)
            if kind == 'L' then
              if #left < limit then table.insert(left, u) else truncated = 1 end
            else
              local status = redis.call('ZSCORE', away, u) and 'away' or 'online'
              local list = nil
              if kind == 'J' then list = joined elseif status ~= string.sub(v, 3) then list = changed end
              if list then
                if #list < limit * 3 then
                  table.insert(list, u); table.insert(list, redis.call('HGET', names, u) or u); table.insert(list, status)
                else
                  truncated = 1
                end
              end
            end
          end
          redis.call('DEL', pending)
          return {redis.call('HLEN', users), truncated, joined, left, changed}
        end

        """;

    /// <summary>
    /// KEYS: room conns, room users, connection rooms, room online, room away, room names, room digest flag, room
    /// pending, user status, room digest last. ARGV: connectionId, userId, entry json, maxMembers, roomId,
    /// maxRoomsPerConnection, room-changes channel, display name, digest threshold, digest interval in ms. {status,
    /// firstOfUser, members, digest, switched}: status 0 joined, 1 already joined, 2 room full, 3 too many rooms. First
    /// of user is decided here, once (T18). In an events room it changes the member count, which every node's cached
    /// view hears of; the join that reaches the threshold switches the room to digests (it is itself still reported by
    /// an event) and holds the first digest back for an interval, so that the switch's announcement comes first. In a
    /// digest room the join is recorded for the next digest and nobody is told now: no work here grows with the room.
    /// </summary>
    public const string Join = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {1, 0, redis.call('HLEN', KEYS[2]), redis.call('EXISTS', KEYS[7]), 0} end
        if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[6]) then return {3, 0, 0, 0, 0} end
        local count = redis.call('HGET', KEYS[2], ARGV[2])
        local members = redis.call('HLEN', KEYS[2])
        if not count and members >= tonumber(ARGV[4]) then return {2, 0, 0, 0, 0} end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
        redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
        redis.call('SADD', KEYS[3], ARGV[5])
        local digest = redis.call('EXISTS', KEYS[7])
        if count then return {0, 0, members, digest, 0} end
        members = members + 1
        if redis.call('GET', KEYS[9]) == 'away' then redis.call('ZADD', KEYS[5], 0, ARGV[2]) else redis.call('ZADD', KEYS[4], 0, ARGV[2]) end
        redis.call('HSET', KEYS[6], ARGV[2], ARGV[8])
        if digest == 1 then
          local prior = redis.call('HGET', KEYS[8], ARGV[2])
          if prior and string.sub(prior, 1, 1) == 'L' then
            redis.call('HSET', KEYS[8], ARGV[2], 'C' .. string.sub(prior, 2))
          else
            redis.call('HSET', KEYS[8], ARGV[2], 'J')
          end
          return {0, 1, members, 1, 0}
        end
        local switched = 0
        if members >= tonumber(ARGV[9]) then
          redis.call('SET', KEYS[7], '1')
          redis.call('SET', KEYS[10], '1', 'PX', ARGV[10])
          switched = 1
        end
        redis.call('PUBLISH', ARGV[7], ARGV[5])
        return {0, 1, members, switched, switched}
        """;

    /// <summary>
    /// KEYS: room conns, room users, connection rooms, room online, room away, room names, room digest flag, room
    /// pending, room digest last. ARGV: connectionId, roomId, room-changes channel, digest threshold, and for an eviction
    /// the node-evictions key prefix and the reason. {entry json, lastOfUser, members, digest, switched[, final digest]}
    /// or nil when the connection was not in the room. Last of user is decided here, once. An eviction is recorded for
    /// the node that holds the connection (the entry's <c>o</c>) in the same step, so it cannot be lost between here and
    /// that node. In a digest room the leave is recorded for the next digest; the leave that takes the room below half
    /// the threshold switches it back and takes what was not yet reported (see <see cref="TakeFunction"/>), to go out
    /// in one last digest.
    /// </summary>
    public const string Leave = TakeFunction + """
        local entry = redis.call('HGET', KEYS[1], ARGV[1])
        if not entry then return false end
        redis.call('HDEL', KEYS[1], ARGV[1])
        redis.call('SREM', KEYS[3], ARGV[2])
        local decoded = cjson.decode(entry)
        if ARGV[6] and type(decoded['o']) == 'string' then
          redis.call('SADD', ARGV[5] .. decoded['o'] .. '}:evictions', ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[6])
        end
        local user = decoded['u']
        local digest = redis.call('EXISTS', KEYS[7])
        if redis.call('HINCRBY', KEYS[2], user, -1) > 0 then return {entry, 0, redis.call('HLEN', KEYS[2]), digest, 0} end
        redis.call('HDEL', KEYS[2], user)
        local away = redis.call('ZREM', KEYS[5], user) == 1
        redis.call('ZREM', KEYS[4], user)
        redis.call('HDEL', KEYS[6], user)
        local members = redis.call('HLEN', KEYS[2])
        if digest == 0 then
          redis.call('PUBLISH', ARGV[3], ARGV[2])
          return {entry, 1, members, 0, 0}
        end
        local prior = redis.call('HGET', KEYS[8], user)
        if prior == 'J' then
          redis.call('HDEL', KEYS[8], user)
        elseif prior then
          redis.call('HSET', KEYS[8], user, 'L' .. string.sub(prior, 2))
        else
          redis.call('HSET', KEYS[8], user, away and 'L:away' or 'L:online')
        end
        if members * 2 >= tonumber(ARGV[4]) then return {entry, 1, members, 1, 0} end
        local final = take(KEYS[8], KEYS[5], KEYS[6], KEYS[2])
        redis.call('DEL', KEYS[7], KEYS[9])
        redis.call('PUBLISH', ARGV[3], ARGV[2])
        return {entry, 1, members, 0, 1, final}
        """;

    /// <summary>
    /// KEYS: room digest flag, room pending, room away, room names, room users, room digest last. ARGV: interval in ms.
    /// {0} nothing to send (not a digest room, or nothing changed); {1, ms} the previous digest is more recent than the
    /// interval: look again in ms; {2, digest} taken (see <see cref="TakeFunction"/>): this node sends it. The interval is
    /// kept in Redis, so it holds cluster-wide, and each change is taken once.
    /// </summary>
    public const string TakeDigest = TakeFunction + """
        if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HLEN', KEYS[2]) == 0 then return {0} end
        local wait = redis.call('PTTL', KEYS[6])
        if wait > 0 then return {1, wait} end
        redis.call('SET', KEYS[6], '1', 'PX', ARGV[1])
        return {2, take(KEYS[2], KEYS[3], KEYS[4], KEYS[5])}
        """;

    /// <summary>
    /// KEYS: room online, room away, room names, room users, room digest flag. ARGV: limit. {members, digest, online
    /// returned, ids, names}: at most limit members, online ones first, each set in id order.
    /// </summary>
    public const string JoinMembers = """
        local limit = tonumber(ARGV[1])
        local ids = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
        local online = #ids
        if online < limit then
          for _, u in ipairs(redis.call('ZRANGE', KEYS[2], 0, limit - online - 1)) do table.insert(ids, u) end
        end
        local names = {}
        if #ids > 0 then names = redis.call('HMGET', KEYS[3], unpack(ids)) end
        return {redis.call('HLEN', KEYS[4]), redis.call('EXISTS', KEYS[5]), online, ids, names}
        """;

    /// <summary>
    /// KEYS: room online, room away, room names. ARGV: after ('' for the first page), count. {online ids, their names,
    /// away ids, their names}: the first count of each set after the bound, in byte order; the caller merges them.
    /// </summary>
    public const string MembersPage = """
        local min = ARGV[1] == '' and '-' or ('(' .. ARGV[1])
        local online = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, tonumber(ARGV[2]))
        local away = redis.call('ZRANGEBYLEX', KEYS[2], min, '+', 'LIMIT', 0, tonumber(ARGV[2]))
        local onlineNames, awayNames = {}, {}
        if #online > 0 then onlineNames = redis.call('HMGET', KEYS[3], unpack(online)) end
        if #away > 0 then awayNames = redis.call('HMGET', KEYS[3], unpack(away)) end
        return {online, onlineNames, away, awayNames}
        """;

    /// <summary>KEYS: user conns, room conns. The entries of the user's connections that are in the room (nil for the others).</summary>
    public const string UserEntries = """
        local conns = redis.call('SMEMBERS', KEYS[1])
        if #conns == 0 then return {} end
        return redis.call('HMGET', KEYS[2], unpack(conns))
        """;

    /// <summary>KEYS: room users, room digest flag. {members, digest}.</summary>
    public const string RoomSize = """
        return {redis.call('HLEN', KEYS[1]), redis.call('EXISTS', KEYS[2])}
        """;

    /// <summary>
    /// KEYS: user conns, room digest flag, room typists. ARGV: userId, typists per window, window in ms. {forward, the
    /// user's connections}. In a digest room a typist is forwarded while fewer than the limit of others were forwarded in
    /// the last window, and stays counted for a window after its latest forwarded signal (Redis's clock, so that nodes'
    /// clocks do not matter); the key expires with its window.
    /// </summary>
    public const string AdmitTyping = """
        local conns = redis.call('SMEMBERS', KEYS[1])
        if redis.call('EXISTS', KEYS[2]) == 0 then return {1, conns} end
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local window = tonumber(ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
        if not redis.call('ZSCORE', KEYS[3], ARGV[1]) and redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then return {0, conns} end
        redis.call('ZADD', KEYS[3], now, ARGV[1])
        redis.call('PEXPIRE', KEYS[3], window)
        return {1, conns}
        """;

    /// <summary>
    /// KEYS: user conns, user status. ARGV: status, connection-rooms key prefix, key prefix, userId. {rooms in events
    /// mode, digest rooms where the change was recorded}; nothing when not connected. The user moves between each room's
    /// online and away sets (named after the status values); in a digest room its first change since the room's previous
    /// digest records the status it had then.
    /// </summary>
    public const string SetStatus = """
        local conns = redis.call('SMEMBERS', KEYS[1])
        if #conns == 0 then return {{}, {}} end
        local previous = redis.call('GET', KEYS[2]) or 'online'
        redis.call('SET', KEYS[2], ARGV[1])
        local seen, events, digests = {}, {}, {}
        for _, c in ipairs(conns) do
          for _, r in ipairs(redis.call('SMEMBERS', ARGV[2] .. c .. '}:rooms')) do
            if not seen[r] then
              seen[r] = true
              local base = ARGV[3] .. 'room:{' .. r .. '}:'
              if previous ~= ARGV[1] then
                redis.call('ZREM', base .. previous, ARGV[4])
                redis.call('ZADD', base .. ARGV[1], 0, ARGV[4])
              end
              if redis.call('EXISTS', base .. 'digest') == 0 then
                table.insert(events, r)
              elseif previous ~= ARGV[1] then
                redis.call('HSETNX', base .. 'pending', ARGV[4], 'C:' .. previous)
                table.insert(digests, r)
              end
            end
          end
        end
        return {events, digests}
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
