using Hubs.Contracts;
using Hubs.Server.Rooms;

namespace Hubs.Tests.Infrastructure;

/// <summary>A message log that passes every call to <paramref name="inner"/>; tests override the calls they watch or break.</summary>
internal abstract class DelegatingRoomMessageLog(IRoomMessageLog inner) : IRoomMessageLog
{
    protected IRoomMessageLog Inner { get; } = inner;

    public virtual Task<AppendResult> AppendAsync(string roomId, MessageDraft draft, string? admitConnectionId, CancellationToken cancellationToken) =>
        Inner.AppendAsync(roomId, draft, admitConnectionId, cancellationToken);

    public Task<IReadOnlyList<RoomMessage>> ReadAsync(string roomId, long? afterSequence, int limit, CancellationToken cancellationToken) =>
        Inner.ReadAsync(roomId, afterSequence, limit, cancellationToken);

    public Task<long> GetLastSequenceAsync(string roomId, CancellationToken cancellationToken) => Inner.GetLastSequenceAsync(roomId, cancellationToken);

    public Task DeleteAsync(string roomId, CancellationToken cancellationToken) => Inner.DeleteAsync(roomId, cancellationToken);
}
