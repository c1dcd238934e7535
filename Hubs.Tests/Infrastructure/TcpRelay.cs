using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// A TCP relay on loopback in front of a server: <see cref="Cut"/> drops every connection through it and turns new ones
/// away until <see cref="Mend"/>, as a network partition between one node and Redis would, while the server itself and
/// everyone else's connections to it carry on.
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Guid, (TcpClient Client, TcpClient Server)> _pairs = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    private TcpRelay(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Address => $"127.0.0.1:{Port}";

    public static TcpRelay Start(int targetPort) => new(targetPort);

    /// <summary>Drops every relayed connection; new ones are closed as soon as they are accepted.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var (id, pair) in _pairs)
        {
            Close(id, pair);
        }
    }

    /// <summary>Relays again.</summary>
    public void Mend() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        Cut();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception error) when (error is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_cut)
            {
                client.Dispose();
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var server = new TcpClient();
        var id = Guid.NewGuid();
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            _pairs[id] = (client, server);
            if (_cut)
            {
                return;
            }

            var up = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
            var down = server.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
            await Task.WhenAny(up, down);
        }
        catch (Exception error) when (error is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // Cut, or one side went away: both sides close below.
        }
        finally
        {
            Close(id, (client, server));
        }
    }

    private void Close(Guid id, (TcpClient Client, TcpClient Server) pair)
    {
        _pairs.TryRemove(id, out _);
        pair.Client.Dispose();
        pair.Server.Dispose();
    }
}
