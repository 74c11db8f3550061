using System.Text.Json;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;
using Spectre.Console;
using TorchSharp;

namespace MiniLlmPipeline.Bench;

/// <summary>Runs the selected sections in order, printing each row as it is measured, then writes the JSON report.</summary>
internal static class BenchRunner
{
    public static readonly string[] Sections =
        [MatmulBench.Section, PretrainBench.Section, PretrainBench.PrecisionSection, GenerationBench.Section, LlamaCppBench.Section, ServeBench.Section, PpoBench.Section, TokenizerBench.Section, DataBench.Section, MemoryBench.Section, ScaleBench.Section];

    public static int Run(BenchOptions options, string outFile)
    {
        if (options.Only is not null && !Sections.Contains(options.Only, StringComparer.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"bench: error: unknown section '{options.Only}'; choose one of {string.Join(", ", Sections)}");
            return 1;
        }
        TorchRuntime.Configure();
        var loadBefore = LoadAverage();
        var results = new List<Measurement>();
        foreach (var section in Sections.Where(options.Includes))
        {
            AnsiConsole.MarkupLine($"[grey]running {section} …[/]");
            foreach (var row in Measure(section, options, results))
            {
                results.Add(row);
                AnsiConsole.MarkupLine($"  {Markup.Escape(row.Name)}: [bold]{Format(row)}[/] {Markup.Escape(row.Detail)}");
            }
        }
        AnsiConsole.Write(Table(results));

        var report = new
        {
            Machine = new
            {
                Environment.ProcessorCount, TorchThreads = torch.get_num_threads(), TorchInteropThreads = torch.get_num_interop_threads(),
                LoadAverageBefore = loadBefore, LoadAverageAfter = LoadAverage(), GitRev = GitRevision.Current(),
                NativeAllocator = NativeHeap.Allocator,
            },
            FinishedAt = DateTimeOffset.UtcNow,
            options.Quick,
            Results = results,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
        AtomicFile.WriteAllText(outFile, JsonSerializer.Serialize(report, JsonDefaults.Options));
        AnsiConsole.MarkupLine($"load average before/after: {loadBefore} / {LoadAverage()} → {Markup.Escape(outFile)}");
        return 0;
    }

    private static IEnumerable<Measurement> Measure(string section, BenchOptions options, List<Measurement> earlier) => section switch
    {
        MatmulBench.Section => MatmulBench.Run(options),
        PretrainBench.Section => PretrainBench.Run(options, Fp32Peak(earlier, options), Fp32CpuPeak(earlier, options)),
        PretrainBench.PrecisionSection => PretrainBench.RunPrecision(options),
        GenerationBench.Section => GenerationBench.Run(options),
        LlamaCppBench.Section => LlamaCppBench.Run(options),
        ServeBench.Section => ServeBench.Run(options),
        PpoBench.Section => PpoBench.Run(options),
        TokenizerBench.Section => TokenizerBench.Run(options),
        DataBench.Section => DataBench.Run(options),
        ScaleBench.Section => ScaleBench.Run(options),
        _ => MemoryBench.Run(options),
    };

    /// <summary>
    /// The MFU denominator: the best fp32 GEMM throughput this run measured at any shape (on a shared
    /// machine a single shape can catch a busy moment), measured now, over the same shapes, if the matmul section was skipped.
    /// </summary>
    private static double Fp32Peak(List<Measurement> earlier, BenchOptions options) =>
        earlier.Where(m => m.Section == MatmulBench.Section && m.Unit == "GFLOP/s" && m.Name.StartsWith("fp32", StringComparison.Ordinal))
            .Max(m => m.Value)
        ?? MatmulBench.Fp32Peak(options);

    private static double Fp32CpuPeak(List<Measurement> earlier, BenchOptions options) =>
        earlier.FirstOrDefault(m => m.Section == MatmulBench.Section && m.Name == MatmulBench.CpuPeakName)?.Value
        ?? MatmulBench.PerCpuSecond(options.Quick ? 2 : 8);

    private static Table Table(IEnumerable<Measurement> results)
    {
        var table = new Table().AddColumns("section", "measurement", "value", "unit", "how");
        foreach (var row in results)
            table.AddRow(Markup.Escape(row.Section), Markup.Escape(row.Name), Format(row), Markup.Escape(row.Unit), Markup.Escape(row.Detail));
        return table;
    }

    private static string Format(Measurement row) => row.Value switch
    {
        null => "–",
        >= 100 => $"{row.Value:N0}",
        >= 10 => $"{row.Value:F1}",
        _ => $"{row.Value:F2}",
    };

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
