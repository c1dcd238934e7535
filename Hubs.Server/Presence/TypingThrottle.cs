using System.Collections.Concurrent;

namespace Hubs.Server.Presence;

/// <summary>Lets one typing signal per user per room through each second; the rest are dropped silently.</summary>
internal sealed class TypingThrottle(TimeProvider time)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<(string RoomId, string UserId), long> _last = new();

    public bool TryEnter(string roomId, string userId)
    {
        var now = time.GetTimestamp();
        var key = (roomId, userId);
        while (true)
        {
            if (!_last.TryGetValue(key, out var previous))
            {
                if (_last.TryAdd(key, now))
                {
                    return true;
                }

                continue;
            }

            if (time.GetElapsedTime(previous, now) < Interval)
            {
                return false;
            }

            if (_last.TryUpdate(key, now, previous))
            {
                return true;
            }
        }
    }

    /// <summary>Drops the user's entry when they leave the room, so the map does not grow with departed users.</summary>
    public void Forget(string roomId, string userId) => _last.TryRemove((roomId, userId), out _);
}
