using Hubs.Contracts;

namespace Hubs.Server.Rooms;

/// <summary>A message before the log gives it its sequence.</summary>
internal sealed record MessageDraft(string SenderId, string SenderName, string Text, DateTimeOffset SentAt, string? ClientMessageId)
{
    public RoomMessage ToMessage(string roomId, long sequence) =>
        new(roomId, sequence, SenderId, SenderName, Text, SentAt, ClientMessageId);
}

/// <summary>Per-room sequence and history. Append assigns the next sequence, stores and trims in one atomic step.</summary>
internal interface IRoomMessageLog
{
    Task<RoomMessage> AppendAsync(string roomId, MessageDraft draft, CancellationToken cancellationToken);

    /// <summary>Messages in ascending order: the first <paramref name="limit"/> after <paramref name="afterSequence"/>, or the newest <paramref name="limit"/> when it is null.</summary>
    Task<IReadOnlyList<RoomMessage>> ReadAsync(string roomId, long? afterSequence, int limit, CancellationToken cancellationToken);

    /// <summary>The newest sequence, 0 when the room has none.</summary>
    Task<long> GetLastSequenceAsync(string roomId, CancellationToken cancellationToken);

    Task DeleteAsync(string roomId, CancellationToken cancellationToken);
}
