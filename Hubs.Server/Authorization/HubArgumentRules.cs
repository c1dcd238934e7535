using System.Reflection;
using Hubs.Contracts;
using Hubs.Server.Options;

namespace Hubs.Server.Authorization;

/// <summary>
/// Validates every hub argument before a method runs (T12). Rules are chosen by parameter name for strings and by
/// type for request records; an argument with no rule is refused, so a new method cannot skip validation.
/// </summary>
internal sealed class HubArgumentRules(LimitsOptions limits)
{
    public const int MaxRoomIdLength = 64;
    public const int MaxUserIdLength = 128;
    public const int MaxDisplayNameLength = 100;
    public const int MaxRoleLength = 64;
    public const int MaxRoles = 32;
    public const int MaxClientMessageIdLength = 64;
    public const int MaxHistoryLimit = 200;

    /// <summary>The rules of the hub method <paramref name="method"/>, for callers outside the hub (the admin API).</summary>
    public void ValidateAs(string method, params object?[] arguments) =>
        Validate(typeof(IRoomHub).GetMethod(method)?.GetParameters() ?? throw new ArgumentException($"No hub method {method}.", nameof(method)), arguments);

    public void Validate(IReadOnlyList<ParameterInfo> parameters, IReadOnlyList<object?> arguments)
    {
        if (parameters.Count != arguments.Count)
        {
            throw HubsErrorException.InvalidArgument("wrong number of arguments");
        }

        for (var i = 0; i < parameters.Count; i++)
        {
            ValidateOne(parameters[i], arguments[i]);
        }
    }

    private void ValidateOne(ParameterInfo parameter, object? argument)
    {
        switch (argument)
        {
            case null:
                throw HubsErrorException.InvalidArgument($"{parameter.Name} is required");
            case string value when parameter.Name == "roomId":
                Require(IsValidRoomId(value), "roomId must be 1 to 64 characters of A-Z a-z 0-9 _ - . starting with a letter or digit");
                break;
            case string value when parameter.Name == "userId":
                Require(IsValidUserId(value), "userId must be 1 to 128 characters without control characters");
                break;
            case string value when parameter.Name == "status":
                Require(value is PresenceStatus.Online or PresenceStatus.Away, "status must be \"online\" or \"away\"");
                break;
            case CreateRoomRequest request:
                RequireRoomId(request.RoomId);
                RequirePermission(request.Permission);
                RequireRoomSettings(request.DisplayName, request.AllowedRoles, request.MaxMembers);
                break;
            case UpdateRoomRequest request:
                RequireRoomId(request.RoomId);
                if (request.Permission is { } permission)
                {
                    RequirePermission(permission);
                }

                RequireRoomSettings(request.DisplayName, request.AllowedRoles, request.MaxMembers);
                break;
            case SendMessageRequest request:
                RequireRoomId(request.RoomId);
                ValidateText(request.Text);
                Require(request.ClientMessageId is null || IsValidToken(request.ClientMessageId, MaxClientMessageIdLength),
                    "clientMessageId must be 1 to 64 characters without control characters");
                break;
            case GetHistoryRequest request:
                RequireRoomId(request.RoomId);
                Require(request.AfterSequence is null or >= 0, "afterSequence must not be negative");
                Require(request.Limit is null or >= 1 and <= MaxHistoryLimit, "limit must be 1 to 200");
                break;
            case GetMembersPageRequest request:
                RequireRoomId(request.RoomId);
                Require(request.AfterUserId is null || IsValidUserId(request.AfterUserId), "afterUserId must be 1 to 128 characters without control characters");
                Require(request.Limit is null or >= 1 and <= LargeRoomBounds.MaxPageLimit, "limit must be 1 to 1000");
                break;
            default:
                // Deny by default: an argument shape without a rule is a server bug, not a client input.
                throw new InvalidOperationException($"No validation rule for parameter '{parameter.Name}' of type {parameter.ParameterType}.");
        }
    }

    private void RequireRoomSettings(string? displayName, IReadOnlyList<string>? allowedRoles, int? maxMembers)
    {
        Require(displayName is null || IsValidDisplayName(displayName), "displayName must be 1 to 100 characters without control characters");
        Require(allowedRoles is null || (allowedRoles.Count <= MaxRoles && allowedRoles.All(IsValidRole)),
            "allowedRoles must be at most 32 roles of 1 to 64 characters of A-Z a-z 0-9 _ - . :");
        Require(maxMembers is null || (maxMembers >= 1 && maxMembers <= limits.MaxMembersPerRoom),
            $"maxMembers must be 1 to {limits.MaxMembersPerRoom}");
    }

    /// <summary>A message's or notification's text: present, not too long, no control characters.</summary>
    public void ValidateText(string? text)
    {
        Require(text is not null && text.Length > 0 && !string.IsNullOrWhiteSpace(text), "text is required");
        Require(text!.Length <= limits.MaxTextLength, $"text is longer than {limits.MaxTextLength} characters");
        Require(IsCleanText(text), "text contains control characters");
    }

    private static void RequireRoomId(string? roomId) =>
        Require(IsValidRoomId(roomId), "roomId must be 1 to 64 characters of A-Z a-z 0-9 _ - . starting with a letter or digit");

    private static void RequirePermission(RoomPermission permission) =>
        Require(Enum.IsDefined(permission), "permission must be PUBLIC, PRIVATE, RESTRICTED or OWNER_ONLY");

    private static void Require(bool condition, string text)
    {
        if (!condition)
        {
            throw HubsErrorException.InvalidArgument(text);
        }
    }

    public static bool IsValidRoomId(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxRoomIdLength || !char.IsAsciiLetterOrDigit(value[0]))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidRole(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxRoleLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidUserId(string? value) => IsValidToken(value, MaxUserIdLength);

    public static bool IsValidDisplayName(string? value) =>
        IsValidToken(value, MaxDisplayNameLength) && !string.IsNullOrWhiteSpace(value);

    private static bool IsValidToken(string? value, int maxLength) =>
        !string.IsNullOrEmpty(value) && value.Length <= maxLength && !value.Any(char.IsControl);

    /// <summary>Message text may hold line breaks and tabs, but no other control characters.</summary>
    private static bool IsCleanText(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
            {
                return false;
            }
        }

        return true;
    }
}
