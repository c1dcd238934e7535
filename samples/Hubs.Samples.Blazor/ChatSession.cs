using Hubs.Client;
using Hubs.Contracts;
using Microsoft.Extensions.Options;

namespace Hubs.Samples.Blazor;

/// <summary>
/// One user's Hubs connection for the lifetime of a Blazor circuit: sign-in, the open room, its messages and members
/// (the client's roster of the room: its exact count and members, from events or, in a large room, digests).
/// Events from Hubs arrive on other threads; <see cref="Changed"/> lets the component re-render on its dispatcher.
/// </summary>
public sealed class ChatSession(IOptions<HubsSampleOptions> options, IHttpClientFactory http) : IAsyncDisposable
{
    // A room of thousands lists its first members only; the count says how many there are.
    private const int ShownMembers = 200;

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

    public IReadOnlyList<MemberInfo> Members => Roster is { } roster ? [.. roster.Members.Values.Take(ShownMembers)] : [];

    /// <summary>The open room's roster: replaced whole by the client on every change.</summary>
    public RoomRoster? Roster { get; private set; }

    /// <summary>In a large room, what the latest presence digest changed (<c>+3 joined, −1 left</c>).</summary>
    public string? DigestLine { get; private set; }

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
        _subscriptions.Add(_client.OnRosterChanged(change => Update(() =>
        {
            if (change.Roster.RoomId != Room?.RoomId)
            {
                return;
            }

            Roster = change.Roster;
            if (!change.Reset && change.Roster.PresenceMode == PresenceModes.Digest && change.Joined.Count + change.Left.Count + change.Changed.Count > 0)
            {
                DigestLine = $"+{change.Joined.Count} joined, −{change.Left.Count} left" + (change.Changed.Count > 0 ? $", {change.Changed.Count} changed status" : "");
            }
        })));
        _subscriptions.Add(_client.OnRemovedFromRoom(removal => Update(() =>
        {
            if (removal.RoomId == Room?.RoomId)
            {
                Room = null;
                lock (_gate)
                {
                    _messages = [];
                }

                Roster = null;
                DigestLine = null;
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

                // Read once the room is set: every change after this reaches the handler above.
                Roster = client.Roster(roomId);
                DigestLine = null;

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
