using System.Diagnostics;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Stages.Explain;

/// <summary>Explains each stage in turn (one checkpoint in memory at a time) and writes the page.</summary>
internal static class ExplainRun
{
    public static string Write(PipelineSpec spec, IReadOnlyList<string> stages, ExplainOptions options, string outDir)
    {
        var clock = Stopwatch.StartNew();
        var prompts = ParquetDatasets.ReadPrompts(options.PromptsFile);
        if (prompts.Count == 0) throw new StageInputException($"--prompts: {options.PromptsFile} holds no prompts");
        var projectionText = ProjectionText(spec, prompts);
        var explained = stages.Select(stage =>
        {
            var e = StageExplanation.Compute(spec, stage, options, prompts, projectionText);
            Console.Error.WriteLine($"explain: {stage} in {e.Seconds:F1} s");
            return e;
        }).ToList();
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, ExplainPage.FileName);
        AtomicFile.WriteAllText(path, ExplainPage.Render(spec.Name, explained));
        Console.Error.WriteLine($"explain: wrote {path} ({new FileInfo(path).Length / 1024.0:F0} KiB) in {clock.Elapsed.TotalSeconds:F1} s");
        return path;
    }

    /// <summary>The text whose most frequent characters the embedding projection shows: the tokenizer's held-out text, else the prompts.</summary>
    private static IReadOnlyList<string> ProjectionText(PipelineSpec spec, IReadOnlyList<PromptExample> prompts)
    {
        if (spec.ConfigOf(StageCatalog.Tokenize)?.ValData is { } val && File.Exists(val))
            return ParquetDatasets.ReadText(val).Take(2000).ToList();
        return prompts.Select(p => p.Prompt).ToList();
    }
}
