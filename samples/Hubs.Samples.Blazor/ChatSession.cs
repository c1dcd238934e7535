using Hubs.Client;
using Hubs.Contracts;
using Microsoft.Extensions.Options;

namespace Hubs.Samples.Blazor;

/// <summary>
/// One user's Hubs connection for the lifetime of a Blazor circuit: sign-in, the open room, its messages and members.
/// Events from Hubs arrive on other threads; <see cref="Changed"/> lets the component re-render on its dispatcher.
/// </summary>
public sealed class ChatSession(IOptions<HubsSampleOptions> options, IHttpClientFactory http) : IAsyncDisposable
{
    private readonly List<IDisposable> _subscriptions = [];

    // Messages arrive on Hubs' threads while the circuit renders: the list is replaced under the lock, never changed.
    private readonly Lock _gate = new();
    private IReadOnlyList<RoomMessage> _messages = [];

    // The room being opened and its live messages that arrived before its history did.
    private (string RoomId, List<RoomMessage> Held)? _opening;
    private HubsClient? _client;

    public event Func<Task>? Changed;

    public string? UserId { get; private set; }

    public string? Notice { get; private set; }

    public IReadOnlyList<RoomInfo> Rooms { get; private set; } = [];

    public RoomInfo? Room { get; private set; }

    public IReadOnlyList<RoomMessage> Messages
    {
        get
        {
            lock (_gate)
            {
                return _messages;
            }
        }
    }

    public IReadOnlyList<MemberInfo> Members { get; private set; } = [];

    public HubsConnectionState State => _client?.State ?? HubsConnectionState.Disconnected;

    public async Task SignInAsync(string name)
    {
        UserId = name;
        var hubs = options.Value;
        _client = new HubsClient(new HubsClientOptions
        {
            Url = new Uri(hubs.Url!, "/hubs/rooms"),
            AccessTokenProvider = async cancellationToken => hubs.Token ?? await DevTokenAsync(name, cancellationToken),
        });
        _subscriptions.Add(_client.OnMessageReceived(message => Update(() =>
        {
            lock (_gate)
            {
                if (_opening is { } opening && message.RoomId == opening.RoomId)
                {
                    opening.Held.Add(message);
                }
                else if (message.RoomId == Room?.RoomId)
                {
                    _messages = [.. _messages, message];
                }
            }
        })));
        _subscriptions.Add(_client.OnUserJoined(_ => RefreshMembersAsync()));
        _subscriptions.Add(_client.OnUserLeft(_ => RefreshMembersAsync()));
        _subscriptions.Add(_client.OnRemovedFromRoom(removal => Update(() =>
        {
            if (removal.RoomId == Room?.RoomId)
            {
                Room = null;
                lock (_gate)
                {
                    _messages = [];
                }

                Members = [];
                Notice = $"You were removed from {removal.RoomId}: {removal.Reason}";
            }
        })));
        await _client.StartAsync();
        await RefreshRoomsAsync();
    }

    public Task CreateRoomAsync(string roomId) => Attempt(async client =>
    {
        await client.CreateRoom(new CreateRoomRequest(roomId, RoomPermission.Public));
        await OpenRoomAsync(roomId);
    });

    public Task OpenRoomAsync(string roomId) => Attempt(async client =>
    {
        lock (_gate)
        {
            _opening = (roomId, []);
        }

        try
        {
            var joined = await client.JoinRoom(roomId);
            var history = await client.GetHistory(new GetHistoryRequest(roomId, Math.Max(0, joined.LastSequence - 50), 50));
            lock (_gate)
            {
                Room = joined.Room;
                Members = joined.Members;

                // Live messages that came while the history was on its way follow it, each once.
                _messages = [.. history.Concat(_opening!.Value.Held).DistinctBy(m => m.Sequence).OrderBy(m => m.Sequence)];
            }
        }
        finally
        {
            lock (_gate)
            {
                _opening = null;
            }
        }

        Notice = null;
        await RefreshRoomsAsync();
    });

    public Task SendAsync(string text) => Attempt(client => client.SendMessage(new SendMessageRequest(Room!.RoomId, text)));

    public Task RefreshRoomsAsync() => Attempt(async client => Rooms = await client.ListRooms());

    public async ValueTask DisposeAsync()
    {
        _subscriptions.ForEach(s => s.Dispose());
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }
    }

    private Task RefreshMembersAsync() => Attempt(async client =>
    {
        if (Room is { } room)
        {
            Members = await client.GetMembers(room.RoomId);
        }
    });

    private async Task Attempt(Func<HubsClient, Task> action)
    {
        try
        {
            await action(_client ?? throw new InvalidOperationException("Sign in first."));
        }
        catch (HubsException error)
        {
            // The code and the server's safe text only; never an exception's details.
            Notice = error.Message;
        }

        await NotifyAsync();
    }

    private Task Update(Action change)
    {
        change();
        return NotifyAsync();
    }

    private Task NotifyAsync() => Changed?.Invoke() ?? Task.CompletedTask;

    private async Task<string?> DevTokenAsync(string name, CancellationToken cancellationToken)
    {
        using var client = http.CreateClient();
        var response = await client.PostAsJsonAsync(new Uri(options.Value.Url!, "/dev/token"), new { sub = name, name }, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TokenResponse>(cancellationToken))?.Token;
    }

    private sealed record TokenResponse(string Token);
}
