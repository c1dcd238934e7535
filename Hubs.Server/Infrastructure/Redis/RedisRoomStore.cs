using System.Text.Json;
using Hubs.Server.Rooms;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>Rooms, invites and kicks in Redis, shared by every node.</summary>
/// <remarks>
/// Every change publishes the room id on <see cref="RedisKeys.RoomChanges"/> inside its script, for the other nodes'
/// cached views, and drops this node's entry before it returns.
/// </remarks>
internal sealed class RedisRoomStore(RedisGateway redis, RedisKeys keys, CachedRoomViews views) : IRoomStore
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
        ChangeAsync("room.update", room.RoomId, db => db.ScriptEvaluateAsync(
            RedisScripts.UpdateRoom, [keys.Room(room.RoomId)], [Serialize(room), room.RoomId, keys.RoomChangesName]), cancellationToken);

    public Task<bool> DeleteAsync(string roomId, CancellationToken cancellationToken) =>
        ChangeAsync("room.delete", roomId, db => db.ScriptEvaluateAsync(
            RedisScripts.DeleteRoom,
            [keys.Room(roomId), keys.Invites(roomId), keys.Kicks(roomId), keys.Sequence(roomId), keys.History(roomId), keys.Rooms, keys.MessageIds(roomId), keys.MessageIdOrder(roomId)],
            [roomId, keys.RoomChangesName]), cancellationToken);

    public Task<bool> InviteAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        MoveGrantAsync("room.invite", roomId, keys.Invites(roomId), keys.Kicks(roomId), userId, cancellationToken);

    public Task<bool> KickAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        MoveGrantAsync("room.kick", roomId, keys.Kicks(roomId), keys.Invites(roomId), userId, cancellationToken);

    public Task<bool> RevokeInviteAsync(string roomId, string userId, CancellationToken cancellationToken) =>
        ChangeAsync("room.revoke", roomId, db => db.ScriptEvaluateAsync(
            RedisScripts.RevokeInvite, [keys.Room(roomId), keys.Invites(roomId)], [userId, roomId, keys.RoomChangesName]), cancellationToken);

    public Task<IReadOnlyList<string>> GetInvitesAsync(string roomId, CancellationToken cancellationToken) =>
        redis.ReadAsync("room.invites", async db =>
            (IReadOnlyList<string>)(await db.SetMembersAsync(keys.Invites(roomId))).Select(v => v.ToString()).Order(StringComparer.Ordinal).ToArray(),
            cancellationToken);

    private Task<bool> MoveGrantAsync(string operation, string roomId, RedisKey add, RedisKey remove, string userId, CancellationToken cancellationToken) =>
        ChangeAsync(operation, roomId, db => db.ScriptEvaluateAsync(
            RedisScripts.MoveGrant, [keys.Room(roomId), add, remove], [userId, roomId, keys.RoomChangesName]), cancellationToken);

    /// <summary>A change script answering 1 when it changed the room; this node's cached view goes either way.</summary>
    private async Task<bool> ChangeAsync(string operation, string roomId, Func<IDatabase, Task<RedisResult>> script, CancellationToken cancellationToken)
    {
        try
        {
            return await redis.WriteAsync(operation, async db => (long)await script(db) == 1, cancellationToken);
        }
        finally
        {
            views.Invalidate(roomId);
        }
    }

    private static string Serialize(RoomRecord room) => JsonSerializer.Serialize(room);

    private static RoomRecord? Deserialize(RedisValue value) => value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<RoomRecord>(value.ToString());
}
