using Hubs.Server;

var builder = WebApplication.CreateBuilder(args);
builder.AddHubsServer();

var app = builder.Build();
app.MapHubsEndpoints();
app.Run();
