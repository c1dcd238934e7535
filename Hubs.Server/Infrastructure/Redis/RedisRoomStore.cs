using System.Text.Json;
using Hubs.Server.Rooms;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>Rooms, invites and kicks in Redis, shared by every node.</summary>
internal sealed class RedisRoomStore(RedisGateway redis, RedisKeys keys) : IRoomStore
{
    public Task<bool> TryCreateAsync(RoomRecord room, CancellationToken cancellationToken) =>
        redis.WriteAsync("room.create", async db => (long)await db.ScriptEvaluateAsync(
            RedisScripts.CreateRoom, [keys.Room(room.RoomId), keys.Rooms], [Serialize(room), room.RoomId]) == 1, cancellationToken);

    public Task<RoomRecord?> GetAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("room.get", async db => Deserialize(await db.StringGetAsync(keys.Room(roomId))), cancellationToken);

    public Task<(RoomRecord? Room, RoomGrants Grants)> GetWithGrantsAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        redis.ReadAsync("room.get", async db =>
        {
            var result = (RedisResult[])(await db.ScriptEvaluateAsync(
                RedisScripts.GetWithGrants, [keys.Room(roomId), keys.Invites(roomId), keys.Kicks(roomId)], [userId]))!;
            var room = Deserialize((RedisValue)result[0]);
            return room is null ? (null, RoomGrants.None) : (room, new RoomGrants((long)result[1] == 1, (long)result[2] == 1));
        }, cancellationToken);

    public Task<IReadOnlyList<(RoomRecord Room, RoomGrants Grants)>> ListAsync(string userId, CancellationToken cancellationToken) =>
        redis.ReadAsync("room.list", async db =>
        {
            var flat = (RedisResult[])(await db.ScriptEvaluateAsync(RedisScripts.ListRooms, [keys.Rooms], [userId, keys.RoomPrefix]))!;
            var rooms = new List<(RoomRecord, RoomGrants)>(flat.Length / 3);
            for (var i = 0; i + 2 < flat.Length; i += 3)
            {
                rooms.Add((Deserialize((RedisValue)flat[i])!, new RoomGrants((long)flat[i + 1] == 1, (long)flat[i + 2] == 1)));
            }

            return (IReadOnlyList<(RoomRecord, RoomGrants)>)rooms;
        }, cancellationToken);

    public Task<bool> TryUpdateAsync(RoomRecord room, CancellationToken cancellationToken) =>
        redis.WriteAsync("room.update", db => db.StringSetAsync(keys.Room(room.RoomId), Serialize(room), when: When.Exists), cancellationToken);

    public Task<bool> DeleteAsync(string roomId, CancellationToken cancellationToken) =>
        redis.WriteAsync("room.delete", async db => (long)await db.ScriptEvaluateAsync(
            RedisScripts.DeleteRoom,
            [keys.Room(roomId), keys.Invites(roomId), keys.Kicks(roomId), keys.Sequence(roomId), keys.History(roomId), keys.Rooms, keys.MessageIds(roomId), keys.MessageIdOrder(roomId)],
            [roomId]) == 1, cancellationToken);

    public Task<bool> InviteAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        MoveGrantAsync("room.invite", roomId, keys.Invites(roomId), keys.Kicks(roomId), userId, cancellationToken);

    public Task<bool> KickAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        MoveGrantAsync("room.kick", roomId, keys.Kicks(roomId), keys.Invites(roomId), userId, cancellationToken);

    public Task<bool> RevokeInviteAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        redis.WriteAsync("room.revoke", async db => (long)await db.ScriptEvaluateAsync(
            RedisScripts.RevokeInvite, [keys.Room(roomId), keys.Invites(roomId)], [userId]) == 1, cancellationToken);

    public Task<IReadOnlyList<string>> GetInvitesAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("room.invites", async db =>
            (IReadOnlyList<string>)(await db.SetMembersAsync(keys.Invites(roomId))).Select(v => v.ToString()).Order(StringComparer.Ordinal).ToArray(),
            cancellationToken);

    private Task<bool> MoveGrantAsync(string operation, string roomId, RedisKey add, RedisKey remove, string userId, CancellationToken cancellationToken) =>
        redis.WriteAsync(operation, async db => (long)await db.ScriptEvaluateAsync(
            RedisScripts.MoveGrant, [keys.Room(roomId), add, remove], [userId]) == 1, cancellationToken);

    private static string Serialize(RoomRecord room) => JsonSerializer.Serialize(room);

    private static RoomRecord? Deserialize(RedisValue value) => value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<RoomRecord>(value.ToString());
}
