using System.Diagnostics;

namespace MiniLlmPipeline.Pipeline;

/// <summary>The source revision a stage ran from, recorded in manifests for provenance.</summary>
public static class GitRevision
{
    public static string? Current()
    {
        try
        {
            var info = new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var git = Process.Start(info);
            if (git is null) return null;
            var rev = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 && rev.Length > 0 ? rev : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}
