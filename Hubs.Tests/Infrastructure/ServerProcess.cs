using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Hubs.Tests.Infrastructure;

/// <summary>Hubs.Server run as its own process, exactly as <c>dotnet run</c> or a container would run it.</summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process)
    {
        _process = process;
    }

    public string Output => string.Join("\n", _output);

    /// <summary>The console logger's error and critical lines so far (<c>fail:</c>, <c>crit:</c>).</summary>
    public IReadOnlyList<string> ErrorLines =>
        _output.Where(line => line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal)).ToArray();

    /// <summary>
    /// Starts the server; on <paramref name="port"/> when given (a restart on the same address), else on a free one.
    /// Another app (a sample) when <paramref name="dll"/> is given, run from <paramref name="workingDirectory"/>.
    /// </summary>
    public static ServerProcess Start(
        string environment, IDictionary<string, string>? variables = null, int port = 0, string? dll = null, string? workingDirectory = null)
    {
        var directory = AppContext.BaseDirectory;
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll ?? Path.Combine(directory, "Hubs.Server.dll"));
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        info.Environment["ASPNETCORE_ENVIRONMENT"] = environment;
        info.Environment["DOTNET_ENVIRONMENT"] = environment;
        info.Environment.Remove("Auth__SigningKey");
        foreach (var (key, value) in variables ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>The address Kestrel reports once it listens.</summary>
    public async Task<Uri> ListeningAsync()
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_listening.Task, exited).WaitAsync(TimeSpan.FromSeconds(25));
        if (first == exited)
        {
            Assert.Fail($"The server exited with {_process.ExitCode} before listening:\n{Output}");
        }

        return await _listening.Task;
    }

    public async Task<int> ExitCodeAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(25));
        // WaitForExitAsync returns before the redirected streams are drained; this overload waits for them.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process gets no chance to clean anything up.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The process id, for a tool that signals the server itself (hubs-load storm's --victim-pid).</summary>
    public int Pid => _process.Id;

    /// <summary>SIGTERM, as an orchestrator stops a container: the server drains and exits by itself.</summary>
    public void Terminate()
    {
        if (kill(_process.Id, SigTerm) != 0)
        {
            Assert.Fail($"kill -TERM {_process.Id} failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        RunLedger.Line(line);
        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    private const int SigTerm = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
