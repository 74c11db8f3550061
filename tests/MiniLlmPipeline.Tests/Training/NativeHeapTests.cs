using System.Diagnostics;
using MiniLlmPipeline.Training;

namespace MiniLlmPipeline.Tests.Training;

/// <summary>
/// The Makefile runs every program through build/tcmalloc/with-tcmalloc.sh; these check that the script preloads
/// tcmalloc (or steps aside when asked), that a preloaded process knows it is on tcmalloc, and that the manifest-facing
/// <see cref="NativeHeap.Allocator"/> reads the process as it is.
/// </summary>
public class NativeHeapTests
{
    private const string TcmallocLibrary = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";

    private static string Script => RepoPaths.Under("build", "tcmalloc", "with-tcmalloc.sh");

    private static (int ExitCode, string Output) RunThroughScript(string command, string? allocator = null)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Script, "bash", "-c", command }) info.ArgumentList.Add(argument);
        info.Environment.Remove("LD_PRELOAD");
        if (allocator is not null) info.Environment["MINILLM_ALLOCATOR"] = allocator;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.TrimEnd());
    }

    [Fact]
    public void Allocator_IsWhatTheProcessMapsShow()
    {
        // dotnet test does not go through the script, so this process is on glibc unless the caller preloaded tcmalloc.
        var mapped = File.ReadLines("/proc/self/maps").Any(line => line.Contains("libtcmalloc"));
        Assert.Equal(mapped ? "tcmalloc" : "glibc", NativeHeap.Allocator);
    }

    [Fact]
    public void Script_PreloadsTcmalloc_AndAProcessStartedThroughItMapsTheLibrary()
    {
        // As root with apt the script installs the library first; where it cannot, it runs the command on glibc.
        var (exitCode, output) = RunThroughScript("echo \"$LD_PRELOAD\"; grep -c libtcmalloc /proc/self/maps || true");
        Assert.Equal(0, exitCode);
        var lines = output.Split('\n');
        if (!File.Exists(TcmallocLibrary))
        {
            Assert.Equal(["", "0"], lines);
            return;
        }
        Assert.Equal(TcmallocLibrary, lines[0]);
        Assert.True(int.Parse(lines[1]) > 0, "the preloaded library is not mapped into the child process");
    }

    [Fact]
    public void Script_LeavesTheCommandAlone_WhenGlibcIsAsked_AndPassesItsExitCode()
    {
        var (exitCode, output) = RunThroughScript("echo \"[$LD_PRELOAD]\"; exit 3", allocator: "glibc");
        Assert.Equal(3, exitCode);
        Assert.Equal("[]", output);
    }
}
