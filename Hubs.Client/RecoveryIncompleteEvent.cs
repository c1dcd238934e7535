namespace Hubs.Client;

/// <summary>
/// Raised by <see cref="HubsClient"/> when messages it missed are no longer in the room's history (the gap was larger
/// than the server's history window): messages <see cref="FirstMissedSequence"/> to
/// <see cref="FirstAvailableSequence"/> − 1 will never be delivered; delivery goes on from
/// <see cref="FirstAvailableSequence"/>.
/// </summary>
/// <param name="RoomId">The room.</param>
/// <param name="FirstMissedSequence">The first sequence this client did not get.</param>
/// <param name="FirstAvailableSequence">The oldest sequence the server still holds; delivered next.</param>
public sealed record RecoveryIncompleteEvent(string RoomId, long FirstMissedSequence, long FirstAvailableSequence)
{
    /// <summary>How many messages are lost to this client.</summary>
    public long MissedCount => FirstAvailableSequence - FirstMissedSequence;
}
