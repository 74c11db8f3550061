using System.Diagnostics;
using System.Text.Json;
using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.TangData;

/// <summary>
/// The only step that needs the network: installs the pinned npm packages into a scratch folder and lets
/// node convert 全唐诗 to simplified characters, so the C# side reads one JSON file; node also writes the
/// character → rhyme-track table from pinyin-pro's readings (<see cref="WriteRhymeTable"/>).
/// </summary>
internal static class NpmSource
{
    public const string PoetryPackage = "chinese-poetry@2.0.1";
    public const string OpenCcPackage = "opencc-js@1.4.2";
    public const string PinyinPackage = "pinyin-pro@3.29.4";

    public static IReadOnlyList<SourcePoem> Load(string workDir)
    {
        workDir = Path.GetFullPath(workDir);
        Directory.CreateDirectory(workDir);
        // A package.json of our own keeps npm from walking up into the repository.
        File.WriteAllText(Path.Combine(workDir, "package.json"),
            """{ "name": "tang-data-build", "private": true, "type": "module" }""");
        Run(workDir, "npm", "install", "--no-audit", "--no-fund", "--no-save", PoetryPackage, OpenCcPackage, PinyinPackage);

        var script = Path.Combine(workDir, "to-simplified.mjs");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "to-simplified.mjs"), script, overwrite: true);
        var json = Path.Combine(workDir, "quan_tang_shi.simplified.json");
        Run(workDir, "node", script, Path.Combine(workDir, "node_modules", "chinese-poetry", "dist", "quantangshi"), json);

        using var stream = File.OpenRead(json);
        return JsonSerializer.Deserialize<List<SourcePoem>>(stream, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
               ?? throw new InvalidDataException($"{json} holds no poems");
    }

    /// <summary>
    /// Writes <paramref name="target"/> (data/tang/rhymes.tsv) with rhyme-groups.mjs; needs the packages <see cref="Load"/>
    /// installed. node writes into the scratch folder and the finished table replaces the target in one rename, so a
    /// failed run leaves the committed table as it was.
    /// </summary>
    public static int WriteRhymeTable(string workDir, string target)
    {
        workDir = Path.GetFullPath(workDir);
        var script = Path.Combine(workDir, "rhyme-groups.mjs");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "rhyme-groups.mjs"), script, overwrite: true);
        var scratch = Path.Combine(workDir, "rhymes.tsv");
        Run(workDir, "node", script, scratch, PinyinPackage.Split('@')[1]);
        var text = File.ReadAllText(scratch);
        AtomicFile.WriteAllText(target, text);
        return text.Count(c => c == '\n') - 1;
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
