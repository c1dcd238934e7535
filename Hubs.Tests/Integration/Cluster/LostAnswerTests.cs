using System.Collections.Concurrent;
using System.Reflection;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Presence;
using Hubs.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Integration.Cluster;

/// <summary>
/// T27: Redis goes away after a join's or a leave's script ran and before its answer arrived. The caller hears
/// <c>unavailable</c> and retries; the retry must leave the connection whole: in the room's presence and its group, or
/// in neither. Nothing repairs a half-made change otherwise.
/// </summary>
public sealed class LostAnswerTests : ClusterFixture
{
    /// <summary>Room id → the presence call whose next answer is lost there.</summary>
    private static readonly ConcurrentDictionary<string, string> LoseNext = new(StringComparer.Ordinal);

    protected override int NodeCount => 2;

    protected override void ConfigureServices(IServiceCollection services) =>
        services.Decorate<IPresenceTracker>(LostAnswers.Wrap);

    [Test]
    public async Task JoinRoom_AnswerLostAfterTheJoinWasMade_RetryMakesAFullMember()
    {
        var room = NewRoomId();
        var alice = await ConnectAsync(0, "alice");
        var bob = await ConnectAsync(1, "bob");
        var bobMessages = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        await alice.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);

        LoseNext[room] = nameof(IPresenceTracker.JoinAsync);
        await HubAssert.RefusedAsync(() => bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room), ErrorCodes.Unavailable);
        var retried = await bob.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        var sent = await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "do you hear me?"));
        var heard = await bobMessages.WaitAsync(m => m.Sequence == sent.Sequence);
        var own = await bob.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "yes"));

        Assert.Multiple(() =>
        {
            Assert.That(retried.Members.Select(m => m.UserId), Is.EqualTo(new[] { "alice", "bob" }));
            Assert.That(heard.Text, Is.EqualTo("do you hear me?"), "the retried join put the connection in the room's group");
            Assert.That(own.Sequence, Is.EqualTo(sent.Sequence + 1));
        });
    }

    [Test]
    public async Task LeaveRoom_AnswerLostAfterTheLeaveWasMade_RetryTakesItOutOfTheGroup()
    {
        var room = NewRoomId();
        var alice = await ConnectAsync(0, "alice");
        var bob = await ConnectAsync(1, "bob");
        var carol = await ConnectAsync(1, "carol");
        var bobMessages = new EventRecorder<RoomMessage>(bob, nameof(IRoomClient.MessageReceived));
        var carolMessages = new EventRecorder<RoomMessage>(carol, nameof(IRoomClient.MessageReceived));
        await alice.InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), new CreateRoomRequest(room, RoomPermission.Public));
        foreach (var connection in new[] { alice, bob, carol })
        {
            await connection.InvokeAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), room);
        }

        LoseNext[room] = nameof(IPresenceTracker.LeaveAsync);
        await HubAssert.RefusedAsync(() => bob.InvokeAsync(nameof(IRoomHub.LeaveRoom), room), ErrorCodes.Unavailable);
        await bob.InvokeAsync(nameof(IRoomHub.LeaveRoom), room);
        var sent = await alice.InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), new SendMessageRequest(room, "bob is gone"));
        await carolMessages.WaitAsync(m => m.Sequence == sent.Sequence);

        // Carol is on bob's node: her copy and bob's would have gone out together. A completed call on bob's
        // connection proves it has processed everything sent to it before.
        await bob.InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), room);
        var members = await alice.InvokeAsync<IReadOnlyList<Hubs.Contracts.MemberInfo>>(nameof(IRoomHub.GetMembers), room);

        Assert.Multiple(() =>
        {
            Assert.That(bobMessages.Items, Is.Empty, "the retried leave took the connection out of the room's group");
            Assert.That(members.Select(m => m.UserId), Is.EqualTo(new[] { "alice", "carol" }));
        });
    }

    /// <summary>Presence whose picked call runs in full and then answers <c>unavailable</c>, as when Redis went away just after.</summary>
    private class LostAnswers : DispatchProxy
    {
        private IPresenceTracker _inner = null!;

        public static IPresenceTracker Wrap(IPresenceTracker inner)
        {
            var proxy = Create<IPresenceTracker, LostAnswers>();
            ((LostAnswers)(object)proxy)._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var result = targetMethod!.Invoke(_inner, args);
            var lost = args is [string roomId, ..] && LoseNext.TryGetValue(roomId, out var method) && method == targetMethod.Name
                && LoseNext.TryRemove(new KeyValuePair<string, string>(roomId, method));
            return (lost, result) switch
            {
                (true, Task<JoinOutcome> join) => LoseAsync(join),
                (true, Task<LeaveOutcome> leave) => LoseAsync(leave),
                _ => result,
            };
        }

        private static async Task<T> LoseAsync<T>(Task<T> call)
        {
            await call;
            throw new HubsErrorException(ErrorCodes.Unavailable, "the service is temporarily unavailable, try again");
        }
    }
}
