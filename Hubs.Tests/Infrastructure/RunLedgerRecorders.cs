using System.Text.Json;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// Server-side recorders for the run ledger: tickets as they are issued, message texts as they arrive (through the hub,
/// and the texts backends post or notify through the admin API).
/// </summary>
internal static class RunLedgerRecorders
{
    public static void Add(IServiceCollection services)
    {
        var tickets = services.Last(d => d.ServiceType == typeof(ITicketStore));
        services.Add(ServiceDescriptor.Singleton<ITicketStore>(provider => new RecordingTicketStore((ITicketStore)(tickets.ImplementationInstance
            ?? tickets.ImplementationFactory?.Invoke(provider)
            ?? ActivatorUtilities.CreateInstance(provider, tickets.ImplementationType!)))));
        services.Configure<HubOptions>(hub => hub.AddFilter(new MessageTextRecorder()));
        services.AddSingleton<IStartupFilter, AdminTextRecorder>();
    }

    /// <summary>The <c>text</c> of every JSON body sent to the admin API, read ahead of the server (which reads it again).</summary>
    private sealed class AdminTextRecorder : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, proceed) =>
            {
                if (context.Request.Path.StartsWithSegments("/api") && context.Request.HasJsonContentType())
                {
                    context.Request.EnableBuffering();
                    try
                    {
                        using var body = await JsonDocument.ParseAsync(context.Request.Body);
                        if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                        {
                            RunLedger.Secret(text.GetString());
                        }
                    }
                    catch (JsonException)
                    {
                        // Not JSON after all: the server answers that; there is no text to record.
                    }

                    context.Request.Body.Position = 0;
                }

                await proceed(context);
            });
            next(app);
        };
    }

    private sealed class RecordingTicketStore(ITicketStore inner) : ITicketStore
    {
        public Task StoreAsync(string ticket, string token, TimeSpan lifetime, CancellationToken cancellationToken)
        {
            RunLedger.Secret(ticket);
            return inner.StoreAsync(ticket, token, lifetime, cancellationToken);
        }

        public Task<string?> RedeemAsync(string ticket, CancellationToken cancellationToken) => inner.RedeemAsync(ticket, cancellationToken);
    }

    /// <summary>Runs after the server's own filter, so it sees the texts that passed validation.</summary>
    private sealed class MessageTextRecorder : IHubFilter
    {
        public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
        {
            foreach (var argument in invocationContext.HubMethodArguments)
            {
                if (argument is SendMessageRequest request)
                {
                    RunLedger.Secret(request.Text);
                }
            }

            return next(invocationContext);
        }
    }
}
