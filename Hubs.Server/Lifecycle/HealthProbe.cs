namespace Hubs.Server.Lifecycle;

/// <summary>
/// <c>Hubs.Server --health-probe &lt;url&gt;</c>: exits 0 when the URL answers 2xx within 3 s, 1 otherwise. For a
/// container health check in an image that has no curl (deploy/Dockerfile).
/// </summary>
internal static class HealthProbe
{
    public static async Task<int> RunAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await http.GetAsync(url);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception error) when (error is HttpRequestException or TaskCanceledException or InvalidOperationException or UriFormatException)
        {
            return 1;
        }
    }
}
