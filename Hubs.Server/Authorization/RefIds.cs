using System.Security.Cryptography;

namespace Hubs.Server.Authorization;

/// <summary>Reference ids that tie a client's error message to the server log line holding the details.</summary>
internal static class RefIds
{
    public static string New() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
}
