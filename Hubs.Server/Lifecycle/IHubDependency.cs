namespace Hubs.Server.Lifecycle;

/// <summary>
/// Something the node cannot serve hub connections without (Redis, when configured). While one is unavailable, as
/// during a drain, a hub connection attempt gets 503 before any upgrade, so the client tries another node or later.
/// </summary>
internal interface IHubDependency
{
    bool IsAvailable { get; }
}
