using System.Collections.Concurrent;
using Hubs.Contracts;
using Hubs.Server.Authorization;
using Hubs.Server.Options;
using Hubs.Server.Rooms;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Hubs.Server.Presence;

/// <summary>
/// Sends digest rooms their <c>PresenceDigest</c>s. A node that records a change in a digest room schedules the room;
/// when it is due, the node takes the room's net changes (<see cref="IPresenceTracker.TakeDigestAsync"/>: atomic, so
/// whichever node takes them sends them, once) and sends them to the room in one group send, serialized once. The
/// first change after a quiet interval goes out at once; the ones after it wait for the room's interval, which is kept
/// with the room, so it holds cluster-wide. Changes recorded while Redis is away stay recorded and go out once it is back.
/// </summary>
internal sealed partial class PresenceDigests(
    IPresenceTracker presence,
    IHubContext<RoomHub, IRoomClient> hub,
    IOptions<PresenceOptions> options,
    TimeProvider time,
    ILogger<PresenceDigests> logger) : BackgroundService
{
    private readonly TimeSpan _interval = TimeSpan.FromMilliseconds(options.Value.DigestIntervalMilliseconds);

    // Room id → when to look at it (a timestamp of the time provider).
    private readonly ConcurrentDictionary<string, long> _due = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Rooms waiting for their next look.</summary>
    public int Scheduled => _due.Count;

    /// <summary>The room has a change to report: look at it now (or, if it is already waiting, when it is due).</summary>
    public void Schedule(string roomId)
    {
        if (_due.TryAdd(roomId, time.GetTimestamp()))
        {
            Wake();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetTimestamp();
            var due = new List<string>();
            TimeSpan? next = null;
            foreach (var (roomId, at) in _due)
            {
                var wait = at <= now ? TimeSpan.Zero : time.GetElapsedTime(now, at);
                if (wait <= TimeSpan.Zero)
                {
                    if (_due.TryRemove(KeyValuePair.Create(roomId, at)))
                    {
                        due.Add(roomId);
                    }
                }
                else if (next is null || wait < next)
                {
                    next = wait;
                }
            }

            if (due.Count > 0)
            {
                await Task.WhenAll(due.Select(roomId => SendAsync(roomId, stoppingToken)));
                continue;
            }

            try
            {
                await _wake.WaitAsync(next ?? Timeout.InfiniteTimeSpan, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task SendAsync(string roomId, CancellationToken cancellationToken)
    {
        try
        {
            var take = await presence.TakeDigestAsync(roomId, _interval, cancellationToken);
            if (take.Digest is { } digest && digest.HasChanges())
            {
                await hub.Clients.Group(RoomGroups.For(roomId)).PresenceDigest(digest);
            }

            if (take.RetryAfter is { } retry)
            {
                Later(roomId, retry);
            }
        }
        catch (HubsErrorException)
        {
            // Shared state is away (already logged): the changes stay recorded; look again after an interval.
            Later(roomId, _interval);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            Log.SendFailed(logger, roomId, error.GetType().Name);
            Later(roomId, _interval);
        }
    }

    private void Later(string roomId, TimeSpan after)
    {
        var at = time.GetTimestamp() + (long)(after.TotalSeconds * time.TimestampFrequency);
        _due.AddOrUpdate(roomId, at, (_, existing) => Math.Min(existing, at));
        Wake();
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Presence digest of room {RoomId} failed ({Error}); retrying after the interval")]
        public static partial void SendFailed(ILogger logger, string roomId, string error);
    }
}
