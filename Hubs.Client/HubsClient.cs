using System.Collections.Concurrent;
using Hubs.Contracts;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hubs.Client;

/// <summary>
/// Typed client of the Hubs room hub. Every hub method is a method here, every server event an <c>On…</c>
/// registration. After a dropped connection it reconnects with jittered exponential backoff, asks the token
/// provider again, rejoins its rooms and delivers what it missed through <see cref="OnMessageReceived(Func{RoomMessage, Task})"/>,
/// in sequence order and without duplicates.
/// </summary>
public sealed class HubsClient : IRoomHub, IAsyncDisposable
{
    private readonly HubsClientOptions _options;
    private readonly HubConnection _connection;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ConcurrentDictionary<string, byte> _joinedRooms = new(StringComparer.Ordinal);
    private readonly HandlerList<RoomMessage> _messageReceived;
    private readonly HandlerList<UserPresenceEvent> _userJoined;
    private readonly HandlerList<UserPresenceEvent> _userLeft;
    private readonly HandlerList<PresenceChangedEvent> _presenceChanged;
    private readonly HandlerList<UserTypingEvent> _userTyping;
    private readonly HandlerList<RoomInfo> _roomUpdated;
    private readonly HandlerList<RemovedFromRoomEvent> _removedFromRoom;
    private readonly RoomDelivery _delivery;
    private readonly Lock _stateGate = new();
    private HubsConnectionState _state = HubsConnectionState.Disconnected;
    private Task _reconnecting = Task.CompletedTask;
    private bool _stopped;

    /// <summary>Creates a client; nothing connects until <see cref="StartAsync"/>.</summary>
    /// <param name="options">Where to connect and how.</param>
    public HubsClient(HubsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _logger = options.LoggerFactory?.CreateLogger<HubsClient>() ?? NullLogger<HubsClient>.Instance;
        _messageReceived = new(nameof(IRoomClient.MessageReceived), _logger);
        _userJoined = new(nameof(IRoomClient.UserJoined), _logger);
        _userLeft = new(nameof(IRoomClient.UserLeft), _logger);
        _presenceChanged = new(nameof(IRoomClient.PresenceChanged), _logger);
        _userTyping = new(nameof(IRoomClient.UserTyping), _logger);
        _roomUpdated = new(nameof(IRoomClient.RoomUpdated), _logger);
        _removedFromRoom = new(nameof(IRoomClient.RemovedFromRoom), _logger);
        _delivery = new RoomDelivery(
            request => InvokeCoreAsync<IReadOnlyList<RoomMessage>>(nameof(IRoomHub.GetHistory), [request], _lifetime.Token),
            _messageReceived,
            _removedFromRoom,
            _logger);

        var builder = new HubConnectionBuilder().WithUrl(options.Url, http =>
        {
            http.AccessTokenProvider = async () => await options.AccessTokenProvider(_lifetime.Token);
            http.SkipNegotiation = options.SkipNegotiation;
            if (options.Transports is { } transports)
            {
                http.Transports = transports;
            }
        });
        if (options.LoggerFactory is not null)
        {
            builder.Services.AddSingleton(options.LoggerFactory);
        }

        options.ConfigureConnection?.Invoke(builder);
        _connection = builder.Build();
        _connection.Closed += OnClosedAsync;

        // Handlers only enqueue: awaiting a hub call inside them would stall SignalR's receive loop.
        _connection.On<RoomMessage>(nameof(IRoomClient.MessageReceived), _delivery.MessageArrived);
        _connection.On<RemovedFromRoomEvent>(nameof(IRoomClient.RemovedFromRoom), removal =>
        {
            _joinedRooms.TryRemove(removal.RoomId, out _);
            _delivery.Removed(removal);
        });
        Forward(nameof(IRoomClient.UserJoined), _userJoined);
        Forward(nameof(IRoomClient.UserLeft), _userLeft);
        Forward(nameof(IRoomClient.PresenceChanged), _presenceChanged);
        Forward(nameof(IRoomClient.UserTyping), _userTyping);
        Forward(nameof(IRoomClient.RoomUpdated), _roomUpdated);
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
    public string? ConnectionId => _connection.ConnectionId;

    /// <summary>Rooms this client has joined and not left or been removed from; they are rejoined after a reconnect.</summary>
    public IReadOnlyCollection<string> JoinedRooms => _joinedRooms.Keys.ToArray();

    /// <summary>Connects. Fails with the transport's exception when the server cannot be reached or refuses the token.</summary>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_stopped, this);
        SetState(HubsConnectionState.Connecting, null);
        try
        {
            await _connection.StartAsync(cancellationToken);
        }
        catch
        {
            SetState(HubsConnectionState.Disconnected, null);
            throw;
        }

        lock (_stateGate)
        {
            // A drop right after the start has already moved the state on to Reconnecting.
            if (_state != HubsConnectionState.Connecting)
            {
                return;
            }
        }

        SetState(HubsConnectionState.Connected, null);
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
        await _connection.StopAsync(cancellationToken);
        await _reconnecting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _delivery.StopAsync();
        SetState(HubsConnectionState.Disconnected, null);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _connection.DisposeAsync();
        _lifetime.Dispose();
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
        var rejoin = _joinedRooms.ContainsKey(roomId);
        if (!rejoin)
        {
            _delivery.JoinStarting(roomId);
        }

        try
        {
            var result = await InvokeCoreAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), [roomId], cancellationToken);
            _joinedRooms.TryAdd(roomId, 0);
            await _delivery.JoinedAsync(roomId, result.LastSequence);
            return result;
        }
        catch when (!rejoin)
        {
            _delivery.Forget(roomId);
            throw;
        }
    }

    /// <inheritdoc />
    public Task LeaveRoom(string roomId) => LeaveRoom(roomId, default);

    /// <inheritdoc cref="IRoomHub.LeaveRoom"/>
    public async Task LeaveRoom(string roomId, CancellationToken cancellationToken)
    {
        await InvokeAsync<object?>(nameof(IRoomHub.LeaveRoom), [roomId], cancellationToken);
        _joinedRooms.TryRemove(roomId, out _);
        _delivery.Forget(roomId);
    }

    /// <inheritdoc />
    public Task<SendMessageResult> SendMessage(SendMessageRequest request) => SendMessage(request, default);

    /// <inheritdoc cref="IRoomHub.SendMessage"/>
    public Task<SendMessageResult> SendMessage(SendMessageRequest request, CancellationToken cancellationToken) =>
        InvokeAsync<SendMessageResult>(nameof(IRoomHub.SendMessage), [request], cancellationToken);

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

    private void Forward<T>(string eventName, HandlerList<T> handlers) =>
        _connection.On<T>(eventName, item => _delivery.Post(() => handlers.InvokeAsync(item)));

    private void EnsureConnected()
    {
        if (State != HubsConnectionState.Connected)
        {
            throw new HubsException(ErrorCodes.Unavailable, $"{ErrorCodes.Unavailable}: not connected ({State})");
        }
    }

    /// <summary>A call made by the application: refused at once while not connected, never queued.</summary>
    private Task<T> InvokeAsync<T>(string method, object?[] arguments, CancellationToken cancellationToken)
    {
        EnsureConnected();
        return InvokeCoreAsync<T>(method, arguments, cancellationToken);
    }

    private async Task<T> InvokeCoreAsync<T>(string method, object?[] arguments, CancellationToken cancellationToken)
    {
        try
        {
            return await _connection.InvokeCoreAsync<T>(method, arguments, cancellationToken);
        }
        catch (HubException error)
        {
            throw HubsException.FromHubException(error);
        }
        catch (Exception error) when (error is InvalidOperationException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The connection went away under the call.
            throw new HubsException(ErrorCodes.Unavailable, $"{ErrorCodes.Unavailable}: the connection was lost", innerException: error);
        }
    }

    private Task OnClosedAsync(Exception? error)
    {
        HubsConnectionState previous;
        lock (_stateGate)
        {
            // While reconnecting, the loop owns recovery: a drop during the rejoin makes its attempt fail and retry.
            if (_stopped || _state == HubsConnectionState.Reconnecting)
            {
                return Task.CompletedTask;
            }

            previous = _state;
            _state = HubsConnectionState.Reconnecting;
            _reconnecting = Task.Run(ReconnectAsync);
        }

        ClientLog.ConnectionLost(_logger, error);
        StateChanged?.Invoke(this, new HubsStateChangedEventArgs(previous, HubsConnectionState.Reconnecting, error));
        return Task.CompletedTask;
    }

    /// <summary>Reconnects with full-jitter exponential backoff, then rejoins and catches up every joined room.</summary>
    private async Task ReconnectAsync()
    {
        var token = _lifetime.Token;
        for (var attempt = 1; !token.IsCancellationRequested; attempt++)
        {
            var delay = BackoffDelay(attempt);
            ClientLog.ReconnectScheduled(_logger, attempt, delay);
            try
            {
                await Task.Delay(delay, _options.TimeProvider, token);
                if (_connection.State == HubConnectionState.Disconnected)
                {
                    await _connection.StartAsync(token);
                }

                await RejoinAsync(token);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception failure)
            {
                ClientLog.ReconnectFailed(_logger, failure, attempt);
                continue;
            }

            lock (_stateGate)
            {
                if (_stopped)
                {
                    return;
                }

                if (_connection.State != HubConnectionState.Connected)
                {
                    // Dropped again after the rejoin: this loop is still the one reconnecting.
                    continue;
                }

                // Under the lock, so that a drop from here on sees Connected and starts a new reconnect.
                _state = HubsConnectionState.Connected;
            }

            ClientLog.Reconnected(_logger, _connection.ConnectionId, _joinedRooms.Count);
            StateChanged?.Invoke(this, new HubsStateChangedEventArgs(HubsConnectionState.Reconnecting, HubsConnectionState.Connected, null));
            return;
        }
    }

    private async Task RejoinAsync(CancellationToken cancellationToken)
    {
        foreach (var roomId in _joinedRooms.Keys)
        {
            JoinRoomResult result;
            try
            {
                result = await InvokeCoreAsync<JoinRoomResult>(nameof(IRoomHub.JoinRoom), [roomId], cancellationToken);
            }
            catch (HubsException refused) when (refused.Code is ErrorCodes.NotFound or ErrorCodes.Forbidden)
            {
                // Access was lost while away: the app learns it as a removal, and nothing more arrives for the room.
                ClientLog.RejoinRefused(_logger, roomId, refused.Code);
                _joinedRooms.TryRemove(roomId, out _);
                _delivery.Removed(new RemovedFromRoomEvent(roomId, RemovalReasons.Revoked));
                continue;
            }

            await _delivery.JoinedAsync(roomId, result.LastSequence);
        }
    }

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
            if (previous == state)
            {
                return;
            }

            _state = state;
        }

        StateChanged?.Invoke(this, new HubsStateChangedEventArgs(previous, state, error));
    }
}
