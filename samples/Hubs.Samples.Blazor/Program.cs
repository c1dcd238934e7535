using Hubs.Samples.Blazor;
using Hubs.Samples.Blazor.Components;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRazorComponents().AddInteractiveServerComponents();
builder.Services.AddOptions<HubsSampleOptions>().BindConfiguration(HubsSampleOptions.Section).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHttpClient();

// Scoped is per circuit in Blazor Server: every browser tab gets its own HubsClient, disposed with the circuit.
builder.Services.AddScoped<ChatSession>();

var app = builder.Build();
app.UseAntiforgery();
app.MapStaticAssets();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.Run();
