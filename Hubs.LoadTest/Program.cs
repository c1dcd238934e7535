using System.Text.Json;
using Hubs.LoadTest;

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (ArgumentException error)
{
    Console.Error.WriteLine($"invalid_argument: {error.Message}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

LoadSummary summary;
try
{
    summary = await new LoadRunner(options, Console.Error).RunAsync(cancel.Token);
}
catch (Exception error) when (error is InvalidOperationException or HttpRequestException or System.Net.WebSockets.WebSocketException or Hubs.Client.HubsException or OperationCanceledException)
{
    // Could not set the run up (nodes unreachable, tokens refused): say so plainly.
    Console.Error.WriteLine($"unavailable: {error.Message}");
    return 1;
}

Console.WriteLine(summary.ToText());
if (options.JsonPath is { } path)
{
    await File.WriteAllTextAsync(path, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
}

return summary.ErrorCount == 0 && summary.Storm?.Complete != false ? 0 : 1;
