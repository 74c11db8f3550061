using System.Text;

namespace MiniLlmPipeline.IO;

/// <summary>
/// Crash-safe writes: content goes to a temporary sibling, is flushed to disk, then renamed over
/// the target. A reader (or a process killed half-way) sees the old file or the new one, never a torn one.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) =>
        Write(path, stream => stream.Write(Encoding.UTF8.GetBytes(text)));

    public static void Write(string path, Action<Stream> write)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>
    /// Replaces a whole folder: <paramref name="fill"/> writes into a fresh temporary folder, which
    /// then takes the target's place. The previous folder is kept as <c>target.old</c> until the
    /// new one is in place, so <see cref="RecoverDirectory"/> can restore it after a crash.
    /// </summary>
    public static void ReplaceDirectory(string target, Action<string> fill)
    {
        target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        var temp = $"{target}.tmp-{Environment.ProcessId}";
        var old = $"{target}.old";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        try { fill(temp); }
        catch
        {
            Directory.Delete(temp, recursive: true);
            throw;
        }
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        if (Directory.Exists(target)) Directory.Move(target, old);
        Directory.Move(temp, target);
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
    }

    /// <summary>Undoes a <see cref="ReplaceDirectory"/> that a crash interrupted between its two renames.</summary>
    public static void RecoverDirectory(string target)
    {
        target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        var old = $"{target}.old";
        if (!Directory.Exists(target) && Directory.Exists(old)) Directory.Move(old, target);
        else if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        var parent = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(parent)) return;
        foreach (var leftover in Directory.GetDirectories(parent, Path.GetFileName(target) + ".tmp-*"))
            Directory.Delete(leftover, recursive: true);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
