using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Bench;

/// <summary>Peak RSS of each stage, as the stage recorded it in its manifest (<c>peak_rss_mb</c>) in the last pipeline run.</summary>
internal static class MemoryBench
{
    public const string Section = "memory";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        foreach (var stage in StageCatalog.All.Select(s => s.Name))
        {
            var manifest = Manifest.TryRead(Path.Combine(options.RunDir, stage));
            if (manifest?.Metrics?.TryGetValue("peak_rss_mb", out var megabytes) == true)
                yield return new(Section, $"{stage} peak RSS", megabytes, "MB", $"{options.RunDir}/{stage} ({manifest.Status})");
            else
                yield return Measurement.Missing(Section, $"{stage} peak RSS", manifest is null ? "not run" : "not recorded by this stage");
        }
    }
}
