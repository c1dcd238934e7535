using Microsoft.Extensions.Options;

namespace Hubs.Server.Telemetry;

/// <summary>
/// Log categories that would write a request URL (and so an <c>access_token</c> or ticket from its query string)
/// or nothing but noise, held at a fixed level whatever the configuration says (T4, T26).
/// </summary>
internal static class LoggingDefaults
{
    private static readonly (string Category, LogLevel Level)[] Pinned =
    [
        // Request start/finish lines carry the full URL with its query string.
        ("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning),

        // Kestrel quotes the request line of a malformed request when this category is at Information or below.
        ("Microsoft.AspNetCore.Server.Kestrel.BadRequests", LogLevel.Warning),

        // SignalR logs every HubException (each refusal) at Error. The hub filter already logs each refusal at
        // Information and each failure at Error with the ref id the client sees, so this category adds only noise.
        ("Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher", LogLevel.Critical),
    ];

    /// <summary>
    /// Pins the categories for every provider: a configured rule for the same category (or a longer one) is removed,
    /// and each provider named in any rule gets its own pinned rule, because a provider-specific rule such as
    /// <c>Logging:Console:LogLevel:Microsoft</c> would otherwise outrank a rule that names no provider.
    /// </summary>
    public static ILoggingBuilder AddHubsLogDefaults(this ILoggingBuilder logging)
    {
        logging.Services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>, PinCategories>();
        return logging;
    }

    private sealed class PinCategories : IPostConfigureOptions<LoggerFilterOptions>
    {
        public void PostConfigure(string? name, LoggerFilterOptions options)
        {
            var providers = options.Rules.Select(r => r.ProviderName).Append(null).Distinct().ToList();
            foreach (var (category, level) in Pinned)
            {
                for (var i = options.Rules.Count - 1; i >= 0; i--)
                {
                    if (options.Rules[i].CategoryName?.StartsWith(category, StringComparison.OrdinalIgnoreCase) == true)
                    {
                        options.Rules.RemoveAt(i);
                    }
                }

                foreach (var provider in providers)
                {
                    options.Rules.Add(new LoggerFilterRule(provider, category, level, filter: null));
                }
            }
        }
    }
}
