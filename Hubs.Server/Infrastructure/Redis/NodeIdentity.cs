namespace Hubs.Server.Infrastructure.Redis;

/// <summary>This process's id in the cluster; new on every start, so a restarted node never owns a dead one's entries.</summary>
internal sealed class NodeIdentity
{
    public string Id { get; } = Guid.NewGuid().ToString("N");
}
