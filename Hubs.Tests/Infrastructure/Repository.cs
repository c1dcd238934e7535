namespace Hubs.Tests.Infrastructure;

/// <summary>The repository the tests run from.</summary>
internal static class Repository
{
    /// <summary>The folder holding Hubs.sln, above the test binaries.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Hubs.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Hubs.sln not found above the test binaries.");
    }
}
