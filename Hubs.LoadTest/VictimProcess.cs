using System.Runtime.InteropServices;

namespace Hubs.LoadTest;

/// <summary>Ends the storm's victim node, a process on this machine.</summary>
internal static class VictimProcess
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    /// <summary>SIGKILL (the node gets no chance to clean up), or SIGTERM with <paramref name="drain"/> (it drains and exits).</summary>
    public static void Signal(int pid, bool drain)
    {
        if (kill(pid, drain ? SigTerm : SigKill) != 0)
        {
            throw new InvalidOperationException($"could not signal --victim-pid {pid} (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
