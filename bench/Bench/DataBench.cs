using MiniLlmPipeline.Data;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Parquet read throughput of every shipped dataset through the readers the stages use (rows/s and
/// file MB/s: decompression, decoding, string materialisation and schema checks included).
/// </summary>
internal static class DataBench
{
    public const string Section = "data";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        if (!Directory.Exists(options.DataDir))
        {
            yield return Measurement.Missing(Section, "parquet read", $"{options.DataDir} not found");
            yield break;
        }
        long totalRows = 0, totalBytes = 0;
        double totalSeconds = 0;
        foreach (var path in Directory.EnumerateFiles(options.DataDir, "*.parquet").Order(StringComparer.Ordinal))
        {
            var rows = 0;
            var seconds = Timing.BestSeconds(options.Repeats(3), () => rows = Read(path));
            var bytes = new FileInfo(path).Length;
            totalRows += rows;
            totalBytes += bytes;
            totalSeconds += seconds;
            yield return new(Section, $"read {Path.GetFileName(path)}", rows / seconds, "rows/s", $"{rows:N0} rows, {bytes / 1e6 / seconds:F1} MB/s");
        }
        yield return new(Section, "read all datasets", totalBytes / 1e6 / totalSeconds, "MB/s", $"{totalRows:N0} rows in {totalSeconds:F2}s");
    }

    /// <summary>Rows read with the reader for the dataset's kind (told by its file name, as the shipped data is named).</summary>
    private static int Read(string path)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        if (name.StartsWith("pretrain", StringComparison.Ordinal)) return ParquetDatasets.ReadText(path).Count();
        if (name.StartsWith("sft", StringComparison.Ordinal)) return ParquetDatasets.ReadSft(path).Count;
        if (name.StartsWith("preferences", StringComparison.Ordinal)) return ParquetDatasets.ReadPreferences(path).Count;
        return ParquetDatasets.ReadPrompts(path).Count;
    }
}
