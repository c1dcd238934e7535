using System.Text.Json.Serialization;

namespace Hubs.Contracts;

/// <summary>Who may join a room. Serialized as the upper-case wire value (<c>PUBLIC</c>, …).</summary>
[JsonConverter(typeof(RoomPermissionJsonConverter))]
public enum RoomPermission
{
    /// <summary>Any authenticated user.</summary>
    [JsonStringEnumMemberName("PUBLIC")]
    Public = 1,

    /// <summary>The owner and invited users.</summary>
    [JsonStringEnumMemberName("PRIVATE")]
    Private = 2,

    /// <summary>The owner and users holding at least one of the room's allowed roles.</summary>
    [JsonStringEnumMemberName("RESTRICTED")]
    Restricted = 3,

    /// <summary>The owner alone.</summary>
    [JsonStringEnumMemberName("OWNER_ONLY")]
    OwnerOnly = 4,
}

/// <summary>Reads and writes <see cref="RoomPermission"/> as its wire name only; numbers are refused.</summary>
public sealed class RoomPermissionJsonConverter() : JsonStringEnumConverter<RoomPermission>(namingPolicy: null, allowIntegerValues: false);
