using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR;

namespace Hubs.Tests.Infrastructure;

internal static partial class HubAssert
{
    /// <summary>Runs a call that must be refused and returns the error message the client saw.</summary>
    public static async Task<string> RefusedAsync(Func<Task> call, string expectedCode)
    {
        try
        {
            await call();
        }
        catch (HubException error)
        {
            Assert.That(error.Message, Does.StartWith(expectedCode + ": "), "refusal code");
            Assert.That(error.Message, Does.Match(RefusalShape()), "refusal shape");
            return error.Message;
        }

        Assert.Fail($"Expected a refusal with {expectedCode}, but the call succeeded.");
        return string.Empty;
    }

    /// <summary>The message without its per-call ref id.</summary>
    public static string WithoutRef(string message) => RefPattern().Replace(message, string.Empty);

    [GeneratedRegex(@"^[a-z_]+: [^\r\n]+ \(ref [0-9a-f]{12}\)$")]
    private static partial Regex RefusalShape();

    [GeneratedRegex(@" \(ref [0-9a-f]+\)$")]
    private static partial Regex RefPattern();
}
