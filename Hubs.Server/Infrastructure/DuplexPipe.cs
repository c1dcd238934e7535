using System.IO.Pipelines;

namespace Hubs.Server.Infrastructure;

/// <summary>A connection's transport with one side replaced, for connection middleware that wraps a pipe.</summary>
internal sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
