using MiniLlmPipeline.IO;

namespace MiniLlmPipeline.Pipeline;

/// <summary>
/// An exclusive lock on a stage folder, so two runs of the same stage cannot interleave writes.
/// .NET maps FileShare.None to an advisory flock on Unix, which the OS drops when the process dies,
/// so a killed run never leaves a stale lock behind.
/// </summary>
public sealed class StageLock : IDisposable
{
    private readonly FileStream _stream;

    public const string FileName = ".lock";

    private StageLock(FileStream stream) => _stream = stream;

    public static StageLock Acquire(string stageDir, string stage)
    {
        Directory.CreateDirectory(stageDir);
        var path = Path.Combine(stageDir, FileName);
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            using (var writer = new StreamWriter(stream, leaveOpen: true)) writer.Write(Environment.ProcessId);
            stream.Flush();
            return new StageLock(stream);
        }
        catch (IOException)
        {
            throw new StageInputException($"{stageDir}: stage '{stage}' is already running on this run folder (lock {path} is held); wait for it or stop it first");
        }
    }

    public void Dispose() => _stream.Dispose();
}
