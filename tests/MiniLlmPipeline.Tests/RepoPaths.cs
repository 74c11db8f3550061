namespace MiniLlmPipeline.Tests;

/// <summary>Locates the repository (the folder holding MiniLlmPipeline.sln) from the test binaries.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Under(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MiniLlmPipeline.sln"))) return dir.FullName;
        throw new InvalidOperationException("MiniLlmPipeline.sln not found above " + AppContext.BaseDirectory);
    }
}
