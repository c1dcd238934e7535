using Hubs.Server;
using Hubs.Server.Lifecycle;

if (args is ["--health-probe", var url])
{
    return await HealthProbe.RunAsync(url);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddHubsServer();

var app = builder.Build();
app.MapHubsEndpoints();
app.Run();
return 0;
