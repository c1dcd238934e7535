using System.Reflection;
using System.Runtime.ExceptionServices;

namespace Hubs.Tests.Infrastructure;

/// <summary>
/// Wraps a service so that the calls a test picks throw, as a dependency failing mid-request would; every other call
/// goes through. A proxy rather than a hand-written decorator, so it keeps up with the interface as it grows.
/// </summary>
internal class FailingCalls<T> : DispatchProxy
    where T : class
{
    private T _inner = null!;
    private Func<MethodInfo, object?[], bool> _fails = null!;

    public static T Wrap(T inner, Func<MethodInfo, object?[], bool> fails)
    {
        var proxy = Create<T, FailingCalls<T>>();
        var failing = (FailingCalls<T>)(object)proxy;
        failing._inner = inner;
        failing._fails = fails;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (_fails(targetMethod!, args ?? []))
        {
            throw new InvalidOperationException($"Injected failure of {typeof(T).Name}.{targetMethod!.Name}.");
        }

        try
        {
            return targetMethod!.Invoke(_inner, args);
        }
        catch (TargetInvocationException error) when (error.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(error.InnerException);
            throw;
        }
    }
}
