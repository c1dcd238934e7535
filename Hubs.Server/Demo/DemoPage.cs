using Microsoft.Extensions.FileProviders;

namespace Hubs.Server.Demo;

/// <summary>
/// Development only: the demo page at <c>/</c> (<c>wwwroot</c>), the TypeScript client's build at
/// <c>/lib/hubs-client</c> and <c>@microsoft/signalr</c>'s browser bundle at <c>/lib/signalr</c>, both from the
/// client package in the repository (<c>Hubs.Client/typescript</c>, after <c>npm ci &amp;&amp; npm run build</c>).
/// Nothing comes from a CDN.
/// </summary>
internal static partial class DemoPage
{
    private const string PackageFolder = "Hubs.Client/typescript";

    public static WebApplication MapDemo(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DemoPage));
        var roots = new[] { app.Environment.ContentRootPath, AppContext.BaseDirectory };
        var pages = Find(roots, "Hubs.Server/wwwroot", "index.html", app.Environment.WebRootPath);
        var package = app.Configuration["Hubs:Demo:ClientPackage"] ?? Find(roots, PackageFolder, "package.json");
        if (pages is null || package is null)
        {
            Log.DemoUnavailable(logger, PackageFolder);
            return app;
        }

        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = new PhysicalFileProvider(pages) });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = new PhysicalFileProvider(pages) });
        Serve(app, "/lib/hubs-client", Path.Combine(package, "dist"));
        Serve(app, "/lib/signalr", Path.Combine(package, "node_modules", "@microsoft", "signalr", "dist", "browser"));
        if (!File.Exists(Path.Combine(package, "dist", "index.js")))
        {
            Log.ClientNotBuilt(logger, package);
        }

        return app;
    }

    private static void Serve(WebApplication app, string path, string directory)
    {
        if (Directory.Exists(directory))
        {
            app.UseStaticFiles(new StaticFileOptions { RequestPath = path, FileProvider = new PhysicalFileProvider(directory) });
        }
    }

    /// <summary>The folder <paramref name="relative"/> holding <paramref name="marker"/>, in a given place or above one of <paramref name="roots"/>.</summary>
    private static string? Find(IEnumerable<string> roots, string relative, string marker, string? given = null)
    {
        if (given is not null && File.Exists(Path.Combine(given, marker)))
        {
            return given;
        }

        foreach (var root in roots)
        {
            for (var directory = new DirectoryInfo(root); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, relative);
                if (File.Exists(Path.Combine(candidate, marker)))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "The demo page is off: {Package} was not found")]
        public static partial void DemoUnavailable(ILogger logger, string package);

        [LoggerMessage(2, LogLevel.Warning, "The demo page needs the TypeScript client built: run `npm ci && npm run build` in {Package}")]
        public static partial void ClientNotBuilt(ILogger logger, string package);
    }
}
