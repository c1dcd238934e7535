using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Hubs.Contracts;

namespace Hubs.Client;

/// <summary>
/// Typed client of the Hubs admin API (<c>/api</c>), for an app's backend. Built on an <see cref="HttpClient"/>
/// whose <see cref="HttpClient.BaseAddress"/> is the service, so it fits <c>IHttpClientFactory</c>:
/// <code>services.AddHttpClient&lt;HubsAdminClient&gt;((http, sp) => new HubsAdminClient(http, ct => GetAdminTokenAsync(ct)))
///     .ConfigureHttpClient(http => http.BaseAddress = new Uri("https://hubs.example.com"));</code>
/// Refusals surface as <see cref="HubsException"/> with the contract's <see cref="HubsException.Code"/> and the
/// server's reference id.
/// </summary>
public sealed class HubsAdminClient
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;
    private readonly Func<CancellationToken, ValueTask<string?>>? _accessTokenProvider;

    /// <summary>Creates a client over <paramref name="http"/>.</summary>
    /// <param name="http">Its <see cref="HttpClient.BaseAddress"/> is the Hubs service.</param>
    /// <param name="accessTokenProvider">The admin JWT for each request; when null, <paramref name="http"/> must send one itself.</param>
    public HubsAdminClient(HttpClient http, Func<CancellationToken, ValueTask<string?>>? accessTokenProvider = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _accessTokenProvider = accessTokenProvider;
    }

    /// <summary>Every room with its member count.</summary>
    public Task<IReadOnlyList<RoomInfo>> ListRoomsAsync(CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<RoomInfo>>(HttpMethod.Get, "api/rooms", null, cancellationToken);

    /// <summary>One room.</summary>
    public Task<RoomInfo> GetRoomAsync(string roomId, CancellationToken cancellationToken = default) =>
        SendAsync<RoomInfo>(HttpMethod.Get, $"api/rooms/{Escape(roomId)}", null, cancellationToken);

    /// <summary>Who is in the room, with presence.</summary>
    public Task<IReadOnlyList<MemberInfo>> GetMembersAsync(string roomId, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<MemberInfo>>(HttpMethod.Get, $"api/rooms/{Escape(roomId)}/members", null, cancellationToken);

    /// <summary>Creates a room owned by <see cref="ServiceCreateRoomRequest.OwnerId"/>.</summary>
    public Task<RoomInfo> CreateRoomAsync(ServiceCreateRoomRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<RoomInfo>(HttpMethod.Post, "api/rooms", request, cancellationToken);

    /// <summary>Changes a room's settings; members who lose access are removed first.</summary>
    public Task<RoomInfo> UpdateRoomAsync(string roomId, ServiceUpdateRoomRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<RoomInfo>(HttpMethod.Patch, $"api/rooms/{Escape(roomId)}", request, cancellationToken);

    /// <summary>Deletes a room and its history; members are removed.</summary>
    public Task DeleteRoomAsync(string roomId, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, $"api/rooms/{Escape(roomId)}", null, cancellationToken);

    /// <summary>Invited user ids.</summary>
    public Task<IReadOnlyList<string>> GetInvitesAsync(string roomId, CancellationToken cancellationToken = default) =>
        SendAsync<IReadOnlyList<string>>(HttpMethod.Get, $"api/rooms/{Escape(roomId)}/invites", null, cancellationToken);

    /// <summary>Invites a user (lifts a kick).</summary>
    public Task InviteUserAsync(string roomId, string userId, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Put, $"api/rooms/{Escape(roomId)}/invites/{Escape(userId)}", null, cancellationToken);

    /// <summary>Revokes an invite; the user's connections that lost access are removed.</summary>
    public Task RevokeInviteAsync(string roomId, string userId, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, $"api/rooms/{Escape(roomId)}/invites/{Escape(userId)}", null, cancellationToken);

    /// <summary>Kicks a user from a room on every node.</summary>
    public Task KickUserAsync(string roomId, string userId, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Post, $"api/rooms/{Escape(roomId)}/kicks/{Escape(userId)}", null, cancellationToken);

    /// <summary>Posts a message as a named service sender; returns its sequence. Idempotent by client message id.</summary>
    public Task<SendMessageResult> PostMessageAsync(string roomId, ServiceMessageRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<SendMessageResult>(HttpMethod.Post, $"api/rooms/{Escape(roomId)}/messages", request, cancellationToken);

    /// <summary>Sends a notification to every connection of a user on every node.</summary>
    public Task<UserNotification> NotifyUserAsync(string userId, NotifyUserRequest request, CancellationToken cancellationToken = default) =>
        SendAsync<UserNotification>(HttpMethod.Post, $"api/users/{Escape(userId)}/notifications", request, cancellationToken);

    /// <summary>Closes every connection of a user on every node, and refuses their connects for <paramref name="banSeconds"/>.</summary>
    public Task<DisconnectUserResult> DisconnectUserAsync(string userId, int? banSeconds = null, CancellationToken cancellationToken = default) =>
        SendAsync<DisconnectUserResult>(HttpMethod.Post, $"api/users/{Escape(userId)}/disconnect", new DisconnectUserRequest(banSeconds), cancellationToken);

    /// <summary>Ends a user's ban now.</summary>
    public Task LiftBanAsync(string userId, CancellationToken cancellationToken = default) =>
        SendAsync<object>(HttpMethod.Delete, $"api/users/{Escape(userId)}/ban", null, cancellationToken);

    /// <summary>Audit records, newest first.</summary>
    /// <param name="roomId">Only records about this room.</param>
    /// <param name="userId">Only records whose actor or target is this user.</param>
    /// <param name="from">Only records at or after this time.</param>
    /// <param name="to">Only records at or before this time.</param>
    /// <param name="limit">At most this many, 1 to 1000 (the server's default is 100).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(
        string? roomId = null, string? userId = null, DateTimeOffset? from = null, DateTimeOffset? to = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        var query = new List<string>();
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                query.Add($"{name}={Escape(value)}");
            }
        }

        Add("roomId", roomId);
        Add("userId", userId);
        Add("from", from?.ToString("O", CultureInfo.InvariantCulture));
        Add("to", to?.ToString("O", CultureInfo.InvariantCulture));
        Add("limit", limit?.ToString(CultureInfo.InvariantCulture));
        var path = query.Count == 0 ? "api/audit" : $"api/audit?{string.Join('&', query)}";
        return SendAsync<IReadOnlyList<AuditRecord>>(HttpMethod.Get, path, null, cancellationToken);
    }

    private static string Escape(string value) => Uri.EscapeDataString(value);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        if (_accessTokenProvider is not null && await _accessTokenProvider(cancellationToken) is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException error)
        {
            throw new HubsException(ErrorCodes.Unavailable, $"{ErrorCodes.Unavailable}: the service could not be reached", innerException: error);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw await RefusalAsync(response, cancellationToken);
            }

            return response.StatusCode == HttpStatusCode.NoContent || typeof(T) == typeof(object)
                ? default!
                : (await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken))!;
        }
    }

    private static async Task<HubsException> RefusalAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<Problem>(Json, cancellationToken);
            if (problem?.Code is { } code && ErrorCodes.All.Contains(code))
            {
                return new HubsException(code, problem.Detail ?? code, problem.RefId);
            }
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's page, an empty 401): the status decides below.
        }

        var fallback = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => ErrorCodes.Unauthenticated,
            HttpStatusCode.Forbidden => ErrorCodes.Forbidden,
            HttpStatusCode.NotFound => ErrorCodes.NotFound,
            HttpStatusCode.TooManyRequests => ErrorCodes.RateLimited,
            HttpStatusCode.BadRequest => ErrorCodes.InvalidArgument,
            HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout => ErrorCodes.Unavailable,
            _ => ErrorCodes.Internal,
        };
        return new HubsException(fallback, $"{fallback}: HTTP {(int)response.StatusCode}");
    }

    private sealed record Problem(string? Code, string? Detail, string? RefId);
}
