using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Hubs.Contracts;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hubs.Client;

/// <summary>
/// Typed client of the Hubs room hub. Every hub method is a method here, every server event an <c>On…</c>
/// registration. It connects to one of several node URLs; after a lost connection it reconnects with jittered
/// exponential backoff to any node that answers, asks the token provider again, rejoins its rooms (the server checks
/// access again) and delivers what it missed through <see cref="OnMessageReceived(Func{RoomMessage, Task})"/>, in
/// sequence order and without duplicates. Before its token expires it opens a replacement connection with a fresh
/// token, joins the rooms there and only then closes the old one.
/// </summary>
public sealed class HubsClient : IRoomHub, IAsyncDisposable
{
    private static readonly TimeSpan RetireBound = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RateLimitedRejoinDelay = TimeSpan.FromMilliseconds(500);

    private readonly HubsClientOptions _options;
    private readonly Uri[] _urls;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ConcurrentDictionary<string, byte> _joinedRooms = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _membership = new(1, 1);
    private readonly HandlerList<RoomMessage> _messageReceived;
    private readonly HandlerList<UserPresenceEvent> _userJoined;
    private readonly HandlerList<UserPresenceEvent> _userLeft;
    private readonly HandlerList<PresenceChangedEvent> _presenceChanged;
    private readonly HandlerList<PresenceDigestEvent> _presenceDigest;
    private readonly HandlerList<UserTypingEvent> _userTyping;
    private readonly HandlerList<RoomInfo> _roomUpdated;
    private readonly HandlerList<RemovedFromRoomEvent> _removedFromRoom;
    private readonly HandlerList<UserNotification> _notified;
    private readonly HandlerList<RecoveryIncompleteEvent> _recoveryIncomplete;
    private readonly HandlerList<RosterChangedEvent> _rosterChanged;
    private readonly RoomDelivery _delivery;
    private readonly RoomRosters _rosters;
    private readonly Lock _stateGate = new();
    private HubsConnectionState _state = HubsConnectionState.Disconnected;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NodeConnection? _current;
    private Task _supervising = Task.CompletedTask;
    private bool _stopped;

    /// <summary>Creates a client; nothing connects until <see cref="StartAsync"/>.</summary>
    /// <param name="options">Where to connect and how.</param>
    public HubsClient(HubsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _urls = [.. new[] { options.Url }.Concat(options.Urls ?? []).OfType<Uri>().Distinct()];
        if (_urls.Length == 0)
        {
            throw new ArgumentException("Set HubsClientOptions.Url or HubsClientOptions.Urls.", nameof(options));
        }

        _logger = options.LoggerFactory?.CreateLogger<HubsClient>() ?? NullLogger<HubsClient>.Instance;
        _messageReceived = new(nameof(IRoomClient.MessageReceived), _logger);
        _userJoined = new(nameof(IRoomClient.UserJoined), _logger);
        _userLeft = new(nameof(IRoomClient.UserLeft), _logger);
        _presenceChanged = new(nameof(IRoomClient.PresenceChanged), _logger);
        _presenceDigest = new(nameof(IRoomClient.PresenceDigest), _logger);
        _userTyping = new(nameof(IRoomClient.UserTyping), _logger);
        _roomUpdated = new(nameof(IRoomClient.RoomUpdated), _logger);
        _removedFromRoom = new(nameof(IRoomClient.RemovedFromRoom), _logger);
        _notified = new(nameof(IRoomClient.Notified), _logger);
        _recoveryIncomplete = new(nameof(OnRecoveryIncomplete), _logger);
        _rosterChanged = new(nameof(OnRosterChanged), _logger);
        _delivery = new RoomDelivery(
            request => InvokeOnAsync<IReadOnlyList<RoomMessage>>(Current, nameof(IRoomHub.GetHistory), [request], _lifetime.Token),
            _messageReceived,
            _removedFromRoom,
            _recoveryIncomplete,
            _logger);
        _rosters = new RoomRosters(
            (request, cancellationToken) => InvokeOnAsync<MembersPage>(Current, nameof(IRoomHub.GetMembersPage), [request], cancellationToken),
            _delivery.Post,
            _rosterChanged,
            _logger,
            _lifetime.Token);
    }

    /// <summary>Raised on every state change.</summary>
    public event EventHandler<HubsStateChangedEventArgs>? StateChanged;

    /// <summary>The current connection state.</summary>
    public HubsConnectionState State
    {
        get
        {
            lock (_stateGate)
            {
                return _state;
            }
        }
    }

    /// <summary>The server's id for the current connection, when connected; null with <see cref="HubsClientOptions.SkipNegotiation"/>.</summary>
    public string? ConnectionId => Volatile.Read(ref _current)?.Hub.ConnectionId;

    /// <summary>The node URL of the current connection; null before the first connect.</summary>
    public Uri? ConnectedUrl => Volatile.Read(ref _current)?.Url;

    /// <summary>Rooms this client has joined and not left or been removed from; they are rejoined after a reconnect.</summary>
    public IReadOnlyCollection<string> JoinedRooms => _joinedRooms.Keys.ToArray();

    /// <summary>
    /// The member roster of a joined room: its exact member count and its members by user id, kept up to date from the
    /// join result and the room's presence events or digests, and paged in with <c>GetMembersPage</c> where those do not
    /// hold every member. Null for a room not joined. <see cref="OnRosterChanged(Func{RosterChangedEvent, Task})"/>
    /// tells every change.
    /// </summary>
    /// <param name="roomId">The room.</param>
    /// <returns>An immutable snapshot; a change replaces it.</returns>
    public RoomRoster? Roster(string roomId) => _rosters.Get(roomId);

    private NodeConnection Current => Volatile.Read(ref _current) ?? throw NotConnected();

    /// <summary>
    /// Connects to the first URL that accepts. Fails with the transport's exception of the last URL tried when none
    /// can be reached or all refuse the token.
    /// </summary>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_stopped, this);
        lock (_stateGate)
        {
            if (_state != HubsConnectionState.Disconnected)
            {
                throw new InvalidOperationException("The client was already started.");
            }
        }

        SetState(HubsConnectionState.Connecting, null);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        NodeConnection? node = null;
        ExceptionDispatchInfo? failure = null;
        for (var index = 0; index < _urls.Length && node is null; index++)
        {
            try
            {
                node = await ConnectAsync(index, linked.Token);
            }
            catch (Exception error) when (!linked.IsCancellationRequested)
            {
                ClientLog.NodeUnreachable(_logger, error, _urls[index].Authority);
                failure = ExceptionDispatchInfo.Capture(error);
            }
            catch
            {
                SetState(HubsConnectionState.Disconnected, null);
                throw;
            }
        }

        if (node is null)
        {
            SetState(HubsConnectionState.Disconnected, null);
            failure!.Throw();
        }

        Volatile.Write(ref _current, node);
        SetState(HubsConnectionState.Connected, null);
        lock (_stateGate)
        {
            // Started after the state change, so that a drop at once is reported after it, not before.
            _supervising = _stopped ? Task.CompletedTask : Task.Run(SuperviseAsync);
        }
    }

    /// <summary>Disconnects and stops reconnecting. Registrations stay; the client cannot be started again.</summary>
    /// <param name="cancellationToken">Cancels waiting for the close.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateGate)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
        }

        await _lifetime.CancelAsync();
        await _supervising.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (Volatile.Read(ref _current) is { } node)
        {
            // Disposing stops it; a connection that was lost is already disposed, which is harmless here.
            await node.Hub.DisposeAsync().AsTask().WaitAsync(cancellationToken);
        }

        await _delivery.StopAsync();
        SetState(HubsConnectionState.Disconnected, null);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _lifetime.Dispose();
        _membership.Dispose();
    }

    /// <summary>Handles every accepted message of joined rooms, in sequence order, once each (recovered ones included).</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnMessageReceived(Func<RoomMessage, Task> handler) => _messageReceived.Add(handler);

    /// <inheritdoc cref="OnMessageReceived(Func{RoomMessage, Task})"/>
    public IDisposable OnMessageReceived(Action<RoomMessage> handler) => _messageReceived.Add(Sync(handler));

    /// <summary>Handles a user's first connection joining a room.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnUserJoined(Func<UserPresenceEvent, Task> handler) => _userJoined.Add(handler);

    /// <inheritdoc cref="OnUserJoined(Func{UserPresenceEvent, Task})"/>
    public IDisposable OnUserJoined(Action<UserPresenceEvent> handler) => _userJoined.Add(Sync(handler));

    /// <summary>Handles a user's last connection leaving a room.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnUserLeft(Func<UserPresenceEvent, Task> handler) => _userLeft.Add(handler);

    /// <inheritdoc cref="OnUserLeft(Func{UserPresenceEvent, Task})"/>
    public IDisposable OnUserLeft(Action<UserPresenceEvent> handler) => _userLeft.Add(Sync(handler));

    /// <summary>Handles status changes of users in joined rooms.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnPresenceChanged(Func<PresenceChangedEvent, Task> handler) => _presenceChanged.Add(handler);

    /// <inheritdoc cref="OnPresenceChanged(Func{PresenceChangedEvent, Task})"/>
    public IDisposable OnPresenceChanged(Action<PresenceChangedEvent> handler) => _presenceChanged.Add(Sync(handler));

    /// <summary>
    /// Handles the presence digests of joined rooms past the digest threshold (contract version 2): net joins, leaves and
    /// status changes since the room's previous digest, and its exact member count. Such rooms send no
    /// <c>UserJoined</c>, <c>UserLeft</c> or <c>PresenceChanged</c>. <see cref="Roster(string)"/> is already updated
    /// when the handlers run.
    /// </summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnPresenceDigest(Func<PresenceDigestEvent, Task> handler) => _presenceDigest.Add(handler);

    /// <inheritdoc cref="OnPresenceDigest(Func{PresenceDigestEvent, Task})"/>
    public IDisposable OnPresenceDigest(Action<PresenceDigestEvent> handler) => _presenceDigest.Add(Sync(handler));

    /// <summary>
    /// Handles every change of a joined room's <see cref="Roster(string)"/>: members added, removed or changed, a new
    /// count or presence mode, or the list replaced whole (join, rejoin after a reconnect, members paged in). Raised in
    /// order with the room's other events, before the handlers of the event that caused it.
    /// </summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnRosterChanged(Func<RosterChangedEvent, Task> handler) => _rosterChanged.Add(handler);

    /// <inheritdoc cref="OnRosterChanged(Func{RosterChangedEvent, Task})"/>
    public IDisposable OnRosterChanged(Action<RosterChangedEvent> handler) => _rosterChanged.Add(Sync(handler));

    /// <summary>Handles typing signals of other users.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnUserTyping(Func<UserTypingEvent, Task> handler) => _userTyping.Add(handler);

    /// <inheritdoc cref="OnUserTyping(Func{UserTypingEvent, Task})"/>
    public IDisposable OnUserTyping(Action<UserTypingEvent> handler) => _userTyping.Add(Sync(handler));

    /// <summary>Handles changed settings of joined rooms.</summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnRoomUpdated(Func<RoomInfo, Task> handler) => _roomUpdated.Add(handler);

    /// <inheritdoc cref="OnRoomUpdated(Func{RoomInfo, Task})"/>
    public IDisposable OnRoomUpdated(Action<RoomInfo> handler) => _roomUpdated.Add(Sync(handler));

    /// <summary>
    /// Handles removal from a room: by the server (kick, revoke, delete) or, with reason <c>revoked</c>, raised by this
    /// client when a rejoin after a reconnect was refused.
    /// </summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnRemovedFromRoom(Func<RemovedFromRoomEvent, Task> handler) => _removedFromRoom.Add(handler);

    /// <inheritdoc cref="OnRemovedFromRoom(Func{RemovedFromRoomEvent, Task})"/>
    public IDisposable OnRemovedFromRoom(Action<RemovedFromRoomEvent> handler) => _removedFromRoom.Add(Sync(handler));

    /// <summary>Handles notifications a backend sent to this user (admin API), whatever rooms the client is in.</summary>
    /// <param name="handler">The handler.</param>
    public IDisposable OnNotified(Func<UserNotification, Task> handler) => _notified.Add(handler);

    /// <inheritdoc cref="OnNotified(Func{UserNotification, Task})"/>
    public IDisposable OnNotified(Action<UserNotification> handler) => _notified.Add(Sync(handler));

    /// <summary>
    /// Handles messages missed while away that are no longer in the room's history: raised once per gap, before the
    /// first message after it is delivered.
    /// </summary>
    /// <param name="handler">The handler.</param>
    /// <returns>Disposing it removes the handler.</returns>
    public IDisposable OnRecoveryIncomplete(Func<RecoveryIncompleteEvent, Task> handler) => _recoveryIncomplete.Add(handler);

    /// <inheritdoc cref="OnRecoveryIncomplete(Func{RecoveryIncompleteEvent, Task})"/>
    public IDisposable OnRecoveryIncomplete(Action<RecoveryIncompleteEvent> handler) => _recoveryIncomplete.Add(Sync(handler));

    /// <inheritdoc />
    public Task<RoomInfo> CreateRoom(CreateRoomRequest request) => CreateRoom(request, default);

    /// <inheritdoc cref="IRoomHub.CreateRoom"/>
    public Task<RoomInfo> CreateRoom(CreateRoomRequest request, CancellationToken cancellationToken) =>
        InvokeAsync<RoomInfo>(nameof(IRoomHub.CreateRoom), [request], cancellationToken);

    /// <inheritdoc />
    public Task<RoomInfo> GetRoom(string roomId) => GetRoom(roomId, default);

    /// <inheritdoc cref="IRoomHub.GetRoom"/>
    public Task<RoomInfo> GetRoom(string roomId, CancellationToken cancellationToken) =>
        InvokeAsync<RoomInfo>(nameof(IRoomHub.GetRoom), [roomId], cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RoomInfo>> ListRooms() => ListRooms(default);

    /// <inheritdoc cref="IRoomHub.ListRooms"/>
    public Task<IReadOnlyList<RoomInfo>> ListRooms(CancellationToken cancellationToken) =>
        InvokeAsync<IReadOnlyList<RoomInfo>>(nameof(IRoomHub.ListRooms), [], cancellationToken);

    /// <inheritdoc />
    public Task<RoomInfo> UpdateRoom(UpdateRoomRequest request) => UpdateRoom(request, default);

    /// <inheritdoc cref="IRoomHub.UpdateRoom"/>
    public Task<RoomInfo> UpdateRoom(UpdateRoomRequest request, CancellationToken cancellationToken) =>
        InvokeAsync<RoomInfo>(nameof(IRoomHub.UpdateRoom), [request], cancellationToken);

    /// <inheritdoc />
    public Task DeleteRoom(string roomId) => DeleteRoom(roomId, default);

    /// <inheritdoc cref="IRoomHub.DeleteRoom"/>
    public Task DeleteRoom(string roomId, CancellationToken cancellationToken) =>
        InvokeAsync<object?>(nameof(IRoomHub.DeleteRoom), [roomId], cancellationToken);

    /// <inheritdoc />
    public Task InviteUser(string roomId, string userId) => InviteUser(roomId, userId, default);

    /// <inheritdoc cref="IRoomHub.InviteUser"/>
    public Task InviteUser(string roomId, string userId, CancellationToken cancellationToken) =>
        InvokeAsync<object?>(nameof(IRoomHub.InviteUser), [roomId, userId], cancellationToken);

    /// <inheritdoc />
    public Task RevokeInvite(string roomId, string userId) => RevokeInvite(roomId, userId, default);

    /// <inheritdoc cref="IRoomHub.RevokeInvite"/>
    public Task RevokeInvite(string roomId, string userId, CancellationToken cancellationToken) =>
        InvokeAsync<object?>(nameof(IRoomHub.RevokeInvite), [roomId, userId], cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> GetInvites(string roomId) => GetInvites(roomId, default);

    /// <inheritdoc cref="IRoomHub.GetInvites"/>
    public Task<IReadOnlyList<string>> GetInvites(string roomId, CancellationToken cancellationToken) =>
        InvokeAsync<IReadOnlyList<string>>(nameof(IRoomHub.GetInvites), [roomId], cancellationToken);

    /// <inheritdoc />
    public Task KickUser(string roomId, string userId) => KickUser(roomId, userId, default);

    /// <inheritdoc cref="IRoomHub.KickUser"/>
    public Task KickUser(string roomId, string userId, CancellationToken cancellationToken) =>
        InvokeAsync<object?>(nameof(IRoomHub.KickUser), [roomId, userId], cancellationToken);

    /// <inheritdoc />
    public Task<JoinRoomResult> JoinRoom(string roomId) => JoinRoom(roomId, default);

    /// <inheritdoc cref="IRoomHub.JoinRoom"/>
    public async Task<JoinRoomResult> JoinRoom(string roomId, CancellationToken cancellationToken)
    {
        EnsureConnected();

        // One membership change at a time, and none while a replacement connection is joining the rooms.
        await _membership.WaitAsync(cancellationToken);
        try
        {
            var rejoin = _joinedRooms.ContainsKey(roomId);
            if (!rejoin)
            {
                _delivery.JoinStarting(roomId);
                _rosters.JoinStarting(roomId);
            }

            try
            {
                var node = Current;
                var result = await InvokeOnAsync<JoinRoomResult>(node, nameof(IRoomHub.JoinRoom), [roomId], cancellationToken);
                node.Joined(roomId);
                _joinedRooms.TryAdd(roomId, 0);
                await _delivery.JoinedAsync(roomId, result.LastSequence);
                if (!rejoin)
                {
                    await _rosters.JoinedAsync(roomId, result);
                }

                return result;
            }
            catch when (!rejoin)
            {
                _delivery.Forget(roomId);
                _rosters.Forget(roomId);
                throw;
            }
        }
        finally
        {
            _membership.Release();
        }
    }

    /// <inheritdoc />
    public Task LeaveRoom(string roomId) => LeaveRoom(roomId, default);

    /// <inheritdoc cref="IRoomHub.LeaveRoom"/>
    public async Task LeaveRoom(string roomId, CancellationToken cancellationToken)
    {
        EnsureConnected();
        await _membership.WaitAsync(cancellationToken);
        try
        {
            await InvokeAsync<object?>(nameof(IRoomHub.LeaveRoom), [roomId], cancellationToken);
            _joinedRooms.TryRemove(roomId, out _);
            _delivery.Forget(roomId);
            _rosters.Forget(roomId);
        }
        finally
        {
            _membership.Release();
        }
    }

    /// <inheritdoc />
    public Task<SendMessageResult> SendMessage(SendMessageRequest request) => SendMessage(request, default);

    /// <summary>
    /// Sends a message and returns once the server has stored it. When the connection is lost under the call, or the
    /// server could not store it, the client waits for the reconnect and sends again with the same
    /// <c>clientMessageId</c> (one is assigned when the request has none), for up to
    /// <see cref="HubsClientOptions.SendRetryTimeout"/>; the server stores it once, so a retry after a lost
    /// acknowledgement returns the original sequence. Fails with <c>unavailable</c> when the time is up: the message
    /// may then have been stored, under the same <c>clientMessageId</c>, and a later retry with it stores nothing new.
    /// </summary>
    /// <param name="request">The message.</param>
    /// <param name="cancellationToken">Cancels the call and its retries.</param>
    public async Task<SendMessageResult> SendMessage(SendMessageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_options.SendRetryTimeout <= TimeSpan.Zero)
        {
            return await InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), [request], cancellationToken);
        }

        EnsureStarted();
        var idempotent = request.ClientMessageId is null ? request with { ClientMessageId = Guid.NewGuid().ToString("N") } : request;
        var time = _options.TimeProvider;
        var deadline = time.GetUtcNow() + _options.SendRetryTimeout;
        var pause = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WaitConnectedAsync(deadline - time.GetUtcNow(), cancellationToken);
                return await InvokeOnAsync<SendMessageResult>(Current, nameof(IRoomHub.SendMessage), [idempotent], cancellationToken);
            }
            catch (HubsException error) when (error.Code == ErrorCodes.Unavailable && !cancellationToken.IsCancellationRequested)
            {
                var left = deadline - time.GetUtcNow();
                if (left <= TimeSpan.Zero || _lifetime.IsCancellationRequested)
                {
                    throw;
                }

                ClientLog.SendRetry(_logger, idempotent.RoomId, attempt);

                // A refusal from a reachable server waits a little; a lost connection waits for the reconnect instead.
                if (State == HubsConnectionState.Connected)
                {
                    await Task.Delay(pause < left ? pause : left, time, cancellationToken);
                    pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
                }
            }
        }
    }

    /// <inheritdoc />
    public Task Typing(string roomId) => Typing(roomId, default);

    /// <inheritdoc cref="IRoomHub.Typing"/>
    public Task Typing(string roomId, CancellationToken cancellationToken) =>
        InvokeAsync<object?>(nameof(IRoomHub.Typing), [roomId], cancellationToken);

    /// <inheritdoc />
    public Task SetStatus(string status) => SetStatus(status, default);

    /// <inheritdoc cref="IRoomHub.SetStatus"/>
    public Task SetStatus(string status, CancellationToken cancellationToken) =>
        InvokeAsync<object?>(nameof(IRoomHub.SetStatus), [status], cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<MemberInfo>> GetMembers(string roomId) => GetMembers(roomId, default);

    /// <inheritdoc cref="IRoomHub.GetMembers"/>
    public Task<IReadOnlyList<MemberInfo>> GetMembers(string roomId, CancellationToken cancellationToken) =>
        InvokeAsync<IReadOnlyList<MemberInfo>>(nameof(IRoomHub.GetMembers), [roomId], cancellationToken);

    /// <inheritdoc />
    public Task<MembersPage> GetMembersPage(GetMembersPageRequest request) => GetMembersPage(request, default);

    /// <inheritdoc cref="IRoomHub.GetMembersPage"/>
    public Task<MembersPage> GetMembersPage(GetMembersPageRequest request, CancellationToken cancellationToken) =>
        InvokeAsync<MembersPage>(nameof(IRoomHub.GetMembersPage), [request], cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<RoomMessage>> GetHistory(GetHistoryRequest request) => GetHistory(request, default);

    /// <inheritdoc cref="IRoomHub.GetHistory"/>
    public Task<IReadOnlyList<RoomMessage>> GetHistory(GetHistoryRequest request, CancellationToken cancellationToken) =>
        InvokeAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), [request], cancellationToken);

    private static Func<T, Task> Sync<T>(Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return item =>
        {
            handler(item);
            return Task.CompletedTask;
        };
    }

    private static HubsException NotConnected(HubsConnectionState? state = null) =>
        new(ErrorCodes.Unavailable, $"{ErrorCodes.Unavailable}: not connected" + (state is { } known ? $" ({known})" : string.Empty));

    private void EnsureConnected()
    {
        var state = State;
        if (state != HubsConnectionState.Connected)
        {
            throw NotConnected(state);
        }
    }

    private void EnsureStarted()
    {
        var state = State;
        if (state is HubsConnectionState.Disconnected or HubsConnectionState.Connecting)
        {
            throw NotConnected(state);
        }
    }

    /// <summary>Waits until connected (after a reconnect, with rooms rejoined); <c>unavailable</c> when the bound passes first.</summary>
    private async Task WaitConnectedAsync(TimeSpan bound, CancellationToken cancellationToken)
    {
        Task connected;
        lock (_stateGate)
        {
            if (_stopped || _state is HubsConnectionState.Disconnected)
            {
                throw NotConnected(_state);
            }

            connected = _connected.Task;
        }

        if (connected.IsCompleted)
        {
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        try
        {
            await connected.WaitAsync(bound > TimeSpan.Zero ? bound : TimeSpan.Zero, _options.TimeProvider, linked.Token);
        }
        catch (Exception error) when (error is TimeoutException || (error is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new HubsException(ErrorCodes.Unavailable, $"{ErrorCodes.Unavailable}: not connected ({State})", innerException: error);
        }
    }

    /// <summary>A call made by the application: refused at once while not connected, never queued.</summary>
    private Task<T> InvokeAsync<T>(string method, object?[] arguments, CancellationToken cancellationToken)
    {
        EnsureConnected();
        return InvokeOnAsync<T>(Current, method, arguments, cancellationToken);
    }

    private static async Task<T> InvokeOnAsync<T>(NodeConnection node, string method, object?[] arguments, CancellationToken cancellationToken)
    {
        using var call = node.BeginCall();
        try
        {
            return await node.Hub.InvokeCoreAsync<T>(method, arguments, cancellationToken);
        }
        catch (HubException error)
        {
            throw HubsException.FromHubException(error);
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested)
        {
            // The connection went away under the call: not connected, the send failed (a WebSocket or HTTP error), or
            // the pending call was cancelled by the close.
            throw new HubsException(ErrorCodes.Unavailable, $"{ErrorCodes.Unavailable}: the connection was lost", innerException: error);
        }
    }

    /// <summary>Opens a connection to one node, with this client's handlers registered on it.</summary>
    private async Task<NodeConnection> ConnectAsync(int urlIndex, CancellationToken cancellationToken)
    {
        var node = new NodeConnection(urlIndex, _urls[urlIndex]);
        var builder = new HubConnectionBuilder().WithUrl(node.Url, http =>
        {
            http.AccessTokenProvider = async () =>
            {
                var token = await _options.AccessTokenProvider(_lifetime.Token);
                node.TokenIssued(token, _options.TimeProvider.GetUtcNow(), _options.TokenRefreshLead);
                return token;
            };
            http.SkipNegotiation = _options.SkipNegotiation;
            if (_options.Transports is { } transports)
            {
                http.Transports = transports;
            }
        });
        if (_options.UseMessagePack)
        {
            builder.AddMessagePackProtocol();
        }

        if (_options.LoggerFactory is not null)
        {
            builder.Services.AddSingleton(_options.LoggerFactory);
        }

        _options.ConfigureConnection?.Invoke(builder);
        var hub = builder.Build();
        node.Hub = hub;
        hub.Closed += error =>
        {
            node.MarkClosed(error);
            return Task.CompletedTask;
        };

        // Handlers only enqueue: awaiting a hub call inside them would stall SignalR's receive loop. Messages and
        // removals count from any connection (delivery drops what it already has); other events only from the current
        // one, so that an overlap while a connection is replaced does not repeat them.
        hub.On<RoomMessage>(nameof(IRoomClient.MessageReceived), _delivery.MessageArrived);
        hub.On<RemovedFromRoomEvent>(nameof(IRoomClient.RemovedFromRoom), removal =>
        {
            _joinedRooms.TryRemove(removal.RoomId, out _);
            _delivery.Removed(removal);
            _rosters.Forget(removal.RoomId);
        });
        Forward(hub, node, nameof(IRoomClient.UserJoined), _userJoined, _rosters.UserJoined);
        Forward(hub, node, nameof(IRoomClient.UserLeft), _userLeft, _rosters.UserLeft);
        Forward(hub, node, nameof(IRoomClient.PresenceChanged), _presenceChanged, _rosters.PresenceChanged);
        Forward(hub, node, nameof(IRoomClient.PresenceDigest), _presenceDigest, _rosters.Digest);
        Forward(hub, node, nameof(IRoomClient.UserTyping), _userTyping);
        Forward(hub, node, nameof(IRoomClient.RoomUpdated), _roomUpdated, _rosters.RoomUpdated);
        Forward(hub, node, nameof(IRoomClient.Notified), _notified);

        try
        {
            await hub.StartAsync(cancellationToken);
        }
        catch
        {
            await hub.DisposeAsync();
            throw;
        }

        return node;
    }

    /// <summary>Queues an event of the current connection: the roster's step first (when it keeps one), then the handlers.</summary>
    private void Forward<T>(HubConnection hub, NodeConnection node, string eventName, HandlerList<T> handlers, Action<T>? roster = null) =>
        hub.On<T>(eventName, item =>
        {
            if (ReferenceEquals(Volatile.Read(ref _current), node))
            {
                roster?.Invoke(item);
                _delivery.Post(() => handlers.InvokeAsync(item));
            }
        });

    /// <summary>
    /// Owns the connection from the first connect to the stop: waits for the current connection to close (then
    /// reconnects) or for its token to near expiry (then replaces it).
    /// </summary>
    private async Task SuperviseAsync()
    {
        var token = _lifetime.Token;
        var time = _options.TimeProvider;
        while (!token.IsCancellationRequested)
        {
            var node = Current;
            using var wake = CancellationTokenSource.CreateLinkedTokenSource(token);
            var due = node.RefreshAt is { } at && _options.TokenRefreshLead > TimeSpan.Zero
                ? Task.Delay(Max(at - time.GetUtcNow(), TimeSpan.Zero), time, wake.Token)
                : Task.Delay(Timeout.InfiniteTimeSpan, wake.Token);
            var first = await Task.WhenAny(node.Closed, due);
            await wake.CancelAsync();
            if (token.IsCancellationRequested)
            {
                return;
            }

            try
            {
                if (first == node.Closed)
                {
                    await ReconnectAsync(node, await node.Closed, token);
                }
                else
                {
                    await ReplaceAsync(node, token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>After a loss: backoff with full jitter, any node that answers (starting after the lost one), rejoin, catch up.</summary>
    private async Task ReconnectAsync(NodeConnection lost, Exception? error, CancellationToken cancellationToken)
    {
        SetState(HubsConnectionState.Reconnecting, error);
        ClientLog.ConnectionLost(_logger, error);
        _ = lost.Hub.DisposeAsync().AsTask();
        for (var attempt = 1; ; attempt++)
        {
            var delay = BackoffDelay(attempt);
            var index = (lost.UrlIndex + attempt) % _urls.Length;
            ClientLog.ReconnectScheduled(_logger, attempt, delay);
            await Task.Delay(delay, _options.TimeProvider, cancellationToken);
            NodeConnection node;
            try
            {
                node = await ConnectAsync(index, cancellationToken);
            }
            catch (Exception failure) when (!cancellationToken.IsCancellationRequested)
            {
                ClientLog.ReconnectFailed(_logger, failure, attempt);
                continue;
            }

            // Current before the rejoin: catching up reads history through it (and a stop from here on closes it).
            Volatile.Write(ref _current, node);
            await _membership.WaitAsync(cancellationToken);
            try
            {
                await RejoinAsync(node, cancellationToken);
            }
            catch (Exception failure) when (!cancellationToken.IsCancellationRequested)
            {
                ClientLog.ReconnectFailed(_logger, failure, attempt);
                await node.Hub.DisposeAsync();
                continue;
            }
            finally
            {
                _membership.Release();
            }

            if (node.Closed.IsCompleted)
            {
                // Dropped again during the rejoin: the supervisor sees it closed and reconnects once more.
                return;
            }

            SetState(HubsConnectionState.Connected, null);
            ClientLog.Reconnected(_logger, node.Url.Authority, _joinedRooms.Count);
            return;
        }
    }

    /// <summary>
    /// Before the token expires: opens a connection with a fresh token, joins the rooms on it (the server checks access
    /// again), makes it current, and stops the old one once its running calls are done. The user never leaves a room.
    /// </summary>
    private async Task ReplaceAsync(NodeConnection old, CancellationToken cancellationToken)
    {
        NodeConnection? node = null;
        for (var i = 0; i < _urls.Length && node is null; i++)
        {
            var index = (old.UrlIndex + i) % _urls.Length;
            try
            {
                node = await ConnectAsync(index, cancellationToken);
            }
            catch (Exception failure) when (!cancellationToken.IsCancellationRequested)
            {
                ClientLog.NodeUnreachable(_logger, failure, _urls[index].Authority);
            }
        }

        if (node is null)
        {
            PostponeReplacement(old);
            return;
        }

        if (node.TokenExpires is { } fresh && old.TokenExpires is { } stale && fresh <= stale)
        {
            // The provider handed out the same token again: replacing cannot help. The server closes the connection at
            // expiry and the reconnect asks the provider once more.
            ClientLog.NoFresherToken(_logger);
            old.RefreshAt = null;
            await node.Hub.DisposeAsync();
            return;
        }

        try
        {
            await _membership.WaitAsync(cancellationToken);
            try
            {
                await RejoinAsync(node, cancellationToken);
                Volatile.Write(ref _current, node);
            }
            finally
            {
                _membership.Release();
            }
        }
        catch (Exception failure)
        {
            await node.Hub.DisposeAsync();
            cancellationToken.ThrowIfCancellationRequested();
            ClientLog.ReplacementFailed(_logger, failure);
            PostponeReplacement(old);
            return;
        }

        ClientLog.ConnectionReplaced(_logger, node.Url.Authority, _joinedRooms.Count);
        _ = RetireAsync(old);
    }

    private void PostponeReplacement(NodeConnection old)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var retry = now + BackoffDelay(3);
        old.RefreshAt = old.TokenExpires is { } expires && retry >= expires ? null : retry;
    }

    private async Task RetireAsync(NodeConnection old)
    {
        try
        {
            await old.WhenIdleAsync(RetireBound);
            await old.Hub.DisposeAsync();
        }
        catch (Exception error)
        {
            ClientLog.RetireFailed(_logger, error);
        }
    }

    /// <summary>
    /// Joins every followed room on <paramref name="node"/>, catches each up to the server's last sequence and starts its
    /// roster over from the join result.
    /// </summary>
    private async Task RejoinAsync(NodeConnection node, CancellationToken cancellationToken)
    {
        foreach (var roomId in _joinedRooms.Keys)
        {
            JoinRoomResult result;
            _rosters.JoinStarting(roomId);
            try
            {
                result = await JoinPatientlyAsync(node, roomId, cancellationToken);
            }
            catch (HubsException refused) when (refused.Code is ErrorCodes.NotFound or ErrorCodes.Forbidden or ErrorCodes.RoomFull)
            {
                // Access was lost while away (or the room filled up): the app learns it as a removal, and nothing more
                // arrives for the room.
                ClientLog.RejoinRefused(_logger, roomId, refused.Code);
                _joinedRooms.TryRemove(roomId, out _);
                var reason = refused.Code == ErrorCodes.RoomFull ? ErrorCodes.RoomFull : RemovalReasons.Revoked;
                _delivery.Removed(new RemovedFromRoomEvent(roomId, reason));
                _rosters.Forget(roomId);
                continue;
            }

            node.Joined(roomId);
            await _delivery.JoinedAsync(roomId, result.LastSequence);

            // The roster starts over from the new result: what changed while away is in it, not in any event.
            await _rosters.JoinedAsync(roomId, result);
        }
    }

    /// <summary>A rejoin of many rooms can outrun the invocation rate limit: it waits and goes on instead of failing.</summary>
    private static async Task<JoinRoomResult> JoinPatientlyAsync(NodeConnection node, string roomId, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await InvokeOnAsync<JoinRoomResult>(node, nameof(IRoomHub.JoinRoom), [roomId], cancellationToken);
            }
            catch (HubsException limited) when (limited.Code == ErrorCodes.RateLimited && !node.Closed.IsCompleted)
            {
                await Task.Delay(RateLimitedRejoinDelay, cancellationToken);
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private TimeSpan BackoffDelay(int attempt)
    {
        var ceiling = Math.Min(
            _options.MaxReconnectDelay.TotalMilliseconds,
            _options.InitialReconnectDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 20)));
        return TimeSpan.FromMilliseconds(Math.Max(1, Random.Shared.NextDouble() * ceiling));
    }

    private void SetState(HubsConnectionState state, Exception? error)
    {
        HubsConnectionState previous;
        lock (_stateGate)
        {
            previous = _state;
            if (previous == state || (_stopped && state != HubsConnectionState.Disconnected))
            {
                return;
            }

            _state = state;
            if (state == HubsConnectionState.Connected)
            {
                _connected.TrySetResult();
            }
            else if (_connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        StateChanged?.Invoke(this, new HubsStateChangedEventArgs(previous, state, error));
    }
}
