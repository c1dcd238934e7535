using Hubs.Contracts;
using Hubs.Server.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace Hubs.Tests.Infrastructure;

/// <summary>Server-side recorders for the run ledger: tickets as they are issued, message texts as they arrive.</summary>
internal static class RunLedgerRecorders
{
    public static void Add(IServiceCollection services)
    {
        var tickets = services.Last(d => d.ServiceType == typeof(ITicketStore));
        services.Add(ServiceDescriptor.Singleton<ITicketStore>(provider => new RecordingTicketStore((ITicketStore)(tickets.ImplementationInstance
            ?? tickets.ImplementationFactory?.Invoke(provider)
            ?? ActivatorUtilities.CreateInstance(provider, tickets.ImplementationType!)))));
        services.Configure<HubOptions>(hub => hub.AddFilter(new MessageTextRecorder()));
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
