using System.Text.Json;
using MiniLlmPipeline.IO;
using TorchSharp;
using TorchSharp.Modules;

namespace MiniLlmPipeline.Training;

/// <summary>
/// Appends one JSON object per logged step to metrics.jsonl and mirrors each scalar to TensorBoard
/// (runs/&lt;pipeline&gt;/tb/&lt;stage&gt;). On resume, lines past the resumed step are dropped first, so the
/// file reads exactly like an uninterrupted run.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    public const string FileName = "metrics.jsonl";
    private readonly StreamWriter _writer;
    private readonly SummaryWriter? _tensorBoard;

    public string Path { get; }

    public MetricsLog(string stageDir, string? tensorBoardDir, int resumeFromStep)
    {
        Path = System.IO.Path.Combine(stageDir, FileName);
        TruncateAfter(Path, resumeFromStep);
        _writer = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        if (tensorBoardDir is not null)
        {
            Directory.CreateDirectory(tensorBoardDir);
            _tensorBoard = torch.utils.tensorboard.SummaryWriter(tensorBoardDir, createRunName: false);
        }
    }

    public void Write(int step, string kind, IReadOnlyDictionary<string, double> values)
    {
        var record = new Dictionary<string, object> { ["step"] = step, ["kind"] = kind };
        foreach (var (key, value) in values) record[key] = Math.Round(value, 6);
        _writer.WriteLine(JsonSerializer.Serialize(record, JsonDefaults.Compact));
        if (_tensorBoard is null) return;
        foreach (var (key, value) in values)
            if (double.IsFinite(value)) _tensorBoard.add_scalar($"{kind}/{key}", (float)value, step);
    }

    /// <summary>All records of a metrics.jsonl file (for plots and reports).</summary>
    public static IReadOnlyList<Dictionary<string, JsonElement>> Read(string path) =>
        File.Exists(path)
            ? File.ReadLines(path).Where(l => l.Length > 0)
                .Select(l => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(l)!).ToList()
            : [];

    private static void TruncateAfter(string path, int step)
    {
        if (!File.Exists(path)) return;
        var kept = File.ReadLines(path)
            .Where(l => l.Length > 0 && JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt32() <= step)
            .ToList();
        AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join("\n", kept) + "\n");
    }

    public void Dispose() => _writer.Dispose();
}
