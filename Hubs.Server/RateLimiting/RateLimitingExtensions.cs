using System.Net;
using Hubs.Server.Options;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Hubs.Server.RateLimiting;

internal static class RateLimitingExtensions
{
    /// <summary>
    /// Client addresses first (forwarded headers only from configured proxies), then the connection gate, all before
    /// authentication so that refused attempts cost no token work.
    /// </summary>
    public static WebApplication UseHubsConnectionGate(this WebApplication app)
    {
        var proxies = app.Services.GetRequiredService<IOptions<HubsOptions>>().Value.TrustedProxies;
        if (proxies.Length > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = 1 };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            foreach (var proxy in proxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.UseMiddleware<HubConnectionGate>();
        return app;
    }
}
