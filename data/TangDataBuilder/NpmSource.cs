using System.Diagnostics;
using System.Text.Json;

namespace MiniLlmPipeline.TangData;

/// <summary>
/// The only step that needs the network: installs the pinned npm packages into a scratch folder and lets
/// node convert 全唐诗 to simplified characters, so the C# side reads one JSON file.
/// </summary>
internal static class NpmSource
{
    public const string PoetryPackage = "chinese-poetry@2.0.1";
    public const string OpenCcPackage = "opencc-js@1.4.2";

    public static IReadOnlyList<SourcePoem> Load(string workDir)
    {
        workDir = Path.GetFullPath(workDir);
        Directory.CreateDirectory(workDir);
        // A package.json of our own keeps npm from walking up into the repository.
        File.WriteAllText(Path.Combine(workDir, "package.json"),
            """{ "name": "tang-data-build", "private": true, "type": "module" }""");
        Run(workDir, "npm", "install", "--no-audit", "--no-fund", "--no-save", PoetryPackage, OpenCcPackage);

        var script = Path.Combine(workDir, "to-simplified.mjs");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "to-simplified.mjs"), script, overwrite: true);
        var json = Path.Combine(workDir, "quan_tang_shi.simplified.json");
        Run(workDir, "node", script, Path.Combine(workDir, "node_modules", "chinese-poetry", "dist", "quantangshi"), json);

        using var stream = File.OpenRead(json);
        return JsonSerializer.Deserialize<List<SourcePoem>>(stream, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
               ?? throw new InvalidDataException($"{json} holds no poems");
    }

    private static void Run(string workDir, string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = workDir };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        Console.Error.WriteLine($"$ {program} {string.Join(' ', arguments)}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}");
    }
}
