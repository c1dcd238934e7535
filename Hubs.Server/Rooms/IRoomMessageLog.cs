using Hubs.Contracts;
using Hubs.Server.RateLimiting;

namespace Hubs.Server.Rooms;

/// <summary>A message before the log gives it its sequence.</summary>
internal sealed record MessageDraft(string SenderId, string SenderName, string Text, DateTimeOffset SentAt, string? ClientMessageId)
{
    public RoomMessage ToMessage(string roomId, long sequence) =>
        new(roomId, sequence, SenderId, SenderName, Text, SentAt, ClientMessageId);

    /// <summary>
    /// What makes a send a retry of an earlier one: the same sender and client message id (length-prefixed, so no
    /// pair of ids can run into another). Null when the sender gave no id.
    /// </summary>
    public string? RetryKey() => RetryKey(SenderId, ClientMessageId);

    public static string? RetryKey(string senderId, string? clientMessageId) =>
        clientMessageId is null ? null : $"{senderId.Length}:{senderId}:{clientMessageId}";
}

/// <summary>What an append did: stored <see cref="Message"/>, or found it already stored by an earlier send of the same retry key.</summary>
internal sealed record AppendResult(RoomMessage Message, bool Duplicate)
{
    /// <summary>Connections in the room when the message was stored, when the log knows it (for the delivery count).</summary>
    public int? Recipients { get; init; }
}

/// <summary>
/// A member's send refused by the append's admission: the connection is not in the room, or the sender's budget
/// there is spent. The hub filter turns it into the contract's answer.
/// </summary>
internal sealed class SendRefusedException(SendAdmission admission) : Exception("The send was not admitted.")
{
    public SendAdmission Admission { get; } = admission;
}

/// <summary>
/// Per-room sequence and history. Append assigns the next sequence, stores and trims in one atomic step; an append
/// whose <see cref="MessageDraft.RetryKey()"/> matches a message still in the history stores nothing and returns that
/// message (an idempotent retry).
/// </summary>
internal interface IRoomMessageLog
{
    /// <summary>
    /// Appends the draft. With <paramref name="admitConnectionId"/> (a member's send) the append is also its
    /// admission: it happens only when that connection is in the room and the sender's message budget there has a
    /// token, otherwise it throws <see cref="SendRefusedException"/> and stores nothing. Without it (a service post)
    /// nothing is admitted.
    /// </summary>
    Task<AppendResult> AppendAsync(string roomId, MessageDraft draft, string? admitConnectionId, CancellationToken cancellationToken);

    /// <summary>Messages in ascending order: the first <paramref name="limit"/> after <paramref name="afterSequence"/>, or the newest <paramref name="limit"/> when it is null.</summary>
    Task<IReadOnlyList<RoomMessage>> ReadAsync(string roomId, long? afterSequence, int limit, CancellationToken cancellationToken);

    /// <summary>The newest sequence, 0 when the room has none.</summary>
    Task<long> GetLastSequenceAsync(string roomId, CancellationToken cancellationToken);

    Task DeleteAsync(string roomId, CancellationToken cancellationToken);
}
