namespace Hubs.Contracts;

/// <summary>Every event the server sends to clients. Method names are the wire names.</summary>
public interface IRoomClient
{
    /// <summary>A message was accepted in a room this connection has joined (the sender's own included).</summary>
    Task MessageReceived(RoomMessage message);

    /// <summary>A user's first connection anywhere joined the room.</summary>
    Task UserJoined(UserPresenceEvent presence);

    /// <summary>A user's last connection anywhere left the room, disconnected, or its node died.</summary>
    Task UserLeft(UserPresenceEvent presence);

    /// <summary>A user in the room changed status.</summary>
    Task PresenceChanged(PresenceChangedEvent presence);

    /// <summary>
    /// A digest room's net presence change since its previous digest, at most once per digest interval (contract
    /// version 2); replaces <see cref="UserJoined"/>, <see cref="UserLeft"/> and <see cref="PresenceChanged"/> there.
    /// </summary>
    Task PresenceDigest(PresenceDigestEvent digest);

    /// <summary>Another user is typing in the room.</summary>
    Task UserTyping(UserTypingEvent typing);

    /// <summary>The room's settings changed.</summary>
    Task RoomUpdated(RoomInfo room);

    /// <summary>This connection was taken out of a room (kicked, revoked or deleted).</summary>
    Task RemovedFromRoom(RemovedFromRoomEvent removal);

    /// <summary>
    /// A backend sent this user a notification (admin API <c>POST /api/users/{userId}/notifications</c>); every
    /// connection of the user gets it, on every node, whatever rooms it is in. Not part of the shared contract: see
    /// docs/contract-extensions.md.
    /// </summary>
    Task Notified(UserNotification notification);
}
