using System.Runtime.InteropServices;

namespace Hubs.Server.Lifecycle;

/// <summary>
/// The console lifetime, with one change: SIGTERM (and Ctrl+C, SIGQUIT) first drains the node, then stops the host.
/// The framework's lifetime stops the host at once, and stopping fires <c>ApplicationStopping</c>, on which SignalR
/// closes every connection without a word; a drain has to come before that.
/// </summary>
internal sealed partial class DrainingConsoleLifetime(
    NodeDrain drain,
    IHostApplicationLifetime lifetime,
    ILogger<DrainingConsoleLifetime> logger) : IHostLifetime, IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, OnStopSignal));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void OnStopSignal(PosixSignalContext context)
    {
        // The process is not ended by the signal: it ends when Main returns, after the host has stopped (exit code 0).
        context.Cancel = true;
        Log.StopSignal(logger, context.Signal.ToString());
        _ = Task.Run(async () =>
        {
            try
            {
                await drain.DrainAsync();
            }
            finally
            {
                lifetime.StopApplication();
            }
        });
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "{Signal} received: draining, then stopping")]
        public static partial void StopSignal(ILogger logger, string signal);
    }
}
