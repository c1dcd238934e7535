using Hubs.Contracts;
using Hubs.Server.Presence;
using Hubs.Server.Telemetry;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Server.Rooms;

/// <summary>
/// Stores a message and delivers it to the room, for members' sends (the hub) and service posts (the admin API)
/// alike: one sequence, one history, one delivery path.
/// </summary>
internal sealed partial class RoomMessagePublisher(
    IRoomMessageLog messages,
    IHubContext<RoomHub, IRoomClient> hub,
    IPresenceTracker presence,
    HubsMetrics metrics,
    ILogger<RoomMessagePublisher> logger)
{
    /// <summary>A service post: stored (once per client message id) and broadcast unless it was stored before.</summary>
    public Task<RoomMessage> PublishAsync(string roomId, MessageDraft draft, CancellationToken cancellationToken) =>
        PublishAsync(roomId, draft, member: null, cancellationToken);

    /// <summary>
    /// A member's send from <paramref name="connectionId"/>: admitted as part of its append
    /// (<see cref="IRoomMessageLog.AppendAsync"/>), and broadcast after the connection's earlier sends, in
    /// <paramref name="turn"/>.
    /// </summary>
    public Task<RoomMessage> PublishAsync(string roomId, MessageDraft draft, string connectionId, SendTurn turn, CancellationToken cancellationToken) =>
        PublishAsync(roomId, draft, (connectionId, turn), cancellationToken);

    private async Task<RoomMessage> PublishAsync(string roomId, MessageDraft draft, (string ConnectionId, SendTurn Turn)? member, CancellationToken cancellationToken)
    {
        try
        {
            // Issued by the time the call returns (the log awaits nothing before it): the connection's next send may append.
            var append = messages.AppendAsync(roomId, draft, member?.ConnectionId, cancellationToken);
            member?.Turn.Appending();
            var appended = await append;

            // A retry of a send already stored (its acknowledgement was lost) gets the original back and changes nothing.
            if (!appended.Duplicate)
            {
                if (member is { Turn: var turn })
                {
                    // Stored in arrival order; their continuations may run in any order, their broadcasts may not.
                    await turn.MayBroadcast;
                }

                await BroadcastStoredAsync(appended.Message, appended.Recipients, member?.Turn);
            }

            return appended.Message;
        }
        finally
        {
            member?.Turn.Complete();
        }
    }

    /// <summary>
    /// The message is stored, so the acknowledgement holds whatever happens here: members who miss the broadcast repair
    /// the gap from history at the next message or reconnect.
    /// </summary>
    private async Task BroadcastStoredAsync(RoomMessage message, int? recipients, SendTurn? turn)
    {
        try
        {
            // Issued (published, or written to local connections) before the call returns: the next send may go.
            var broadcast = hub.Clients.Group(RoomGroups.For(message.RoomId)).MessageReceived(message);
            turn?.Broadcasting();
            await broadcast;
        }
        catch (Exception error)
        {
            Log.BroadcastFailed(logger, message.RoomId, message.Sequence, error.GetType().Name);
            return;
        }

        try
        {
            // Counted even when the sender has gone meanwhile: the message was delivered all the same.
            metrics.MessageAccepted(recipients ?? await presence.CountConnectionsAsync(message.RoomId, CancellationToken.None));
        }
        catch (Exception error)
        {
            // Only the delivery count is missed; the message is stored and delivered.
            Log.DeliveryCountFailed(logger, message.RoomId, message.Sequence, error.GetType().Name);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Room {RoomId}: message {Sequence} is stored but its broadcast failed ({ErrorType}); members repair the gap from history")]
        public static partial void BroadcastFailed(ILogger logger, string roomId, long sequence, string errorType);

        [LoggerMessage(2, LogLevel.Warning, "Room {RoomId}: message {Sequence} was delivered but could not be counted ({ErrorType})")]
        public static partial void DeliveryCountFailed(ILogger logger, string roomId, long sequence, string errorType);
    }
}
