using Hubs.Server.Lifecycle;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using StackExchange.Redis;

namespace Hubs.Server.Infrastructure.Redis;

/// <summary>
/// Cluster-wide sends to users: the user ids and the invocation, serialized once per protocol, go out on one channel and
/// every node (this one included) writes to its own connections of those users. One subscription per node instead of
/// the backplane's one per user.
/// </summary>
internal sealed partial class RedisUserMessages(
    IConnectionMultiplexer redis,
    RedisKeys keys,
    RedisSubscriptions subscriptions,
    IHubProtocolResolver protocols,
    LocalUserMessages local,
    ILogger<RedisUserMessages> logger) : IUserMessages, IHostedService
{
    // With the other channel names in RedisKeys once that file is open again (issue 18: it is being rewritten on main).
    private readonly RedisChannel _channel = RedisChannel.Literal($"{keys.BackplanePrefix}:user-messages");

    public async Task SendAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken)
    {
        var invocation = new InvocationMessage(methodName, args);
        var payloads = protocols.AllProtocols.Select(p => new SerializedMessage(p.Name, p.GetMessageBytes(invocation))).ToList();
        await redis.GetSubscriber().PublishAsync(_channel, Write(userIds, payloads)).WaitAsync(RedisGateway.CallBudget, cancellationToken);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        subscriptions.Add(_channel, (channel, message) => _ = DeliverAsync(message!));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static byte[] Write(IReadOnlyList<string> userIds, IReadOnlyList<SerializedMessage> payloads)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
        {
            writer.Write(userIds.Count);
            foreach (var userId in userIds)
            {
                writer.Write(userId);
            }

            writer.Write(payloads.Count);
            foreach (var payload in payloads)
            {
                writer.Write(payload.ProtocolName);
                writer.Write(payload.Serialized.Length);
                writer.Write(payload.Serialized.Span);
            }
        }

        return buffer.ToArray();
    }

    internal static (string[] UserIds, SerializedHubMessage Message) Read(byte[] envelope)
    {
        using var reader = new BinaryReader(new MemoryStream(envelope));
        var userIds = new string[reader.ReadInt32()];
        for (var i = 0; i < userIds.Length; i++)
        {
            userIds[i] = reader.ReadString();
        }

        var payloads = new SerializedMessage[reader.ReadInt32()];
        for (var i = 0; i < payloads.Length; i++)
        {
            var protocol = reader.ReadString();
            payloads[i] = new SerializedMessage(protocol, reader.ReadBytes(reader.ReadInt32()));
        }

        return (userIds, new SerializedHubMessage(payloads));
    }

    private async Task DeliverAsync(byte[] envelope)
    {
        try
        {
            var (userIds, message) = Read(envelope);
            await local.DeliverAsync(userIds, message, CancellationToken.None);
        }
        catch (Exception error) when (error is EndOfStreamException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // A connection that closed while it was written to, or a message this node cannot read: nobody else is affected.
            Log.NotDelivered(logger, error.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "A message to users was not delivered on this node ({ErrorType})")]
        public static partial void NotDelivered(ILogger logger, string errorType);
    }
}
