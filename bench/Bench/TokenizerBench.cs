using System.Text;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// The tokenize stage's two jobs on the full Tang pretraining corpus: BPE training (vocab 4096, min
/// frequency 2, as pipelines/tang-poetry.yaml) and encoding every document (in parallel, as the stage does).
/// </summary>
internal static class TokenizerBench
{
    public const string Section = "tokenize";

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var path = Path.Combine(options.DataDir, "pretrain.parquet");
        if (!File.Exists(path))
        {
            yield return Measurement.Missing(Section, "BPE training", $"{path} not found");
            yield break;
        }
        var documents = ParquetDatasets.ReadText(path).ToList();
        var megabytes = documents.Sum(d => (long)Encoding.UTF8.GetByteCount(d)) / 1e6;

        BpeModel? model = null;
        var cpu = CpuClock.Seconds();
        var trainSeconds = Timing.BestSeconds(options.Repeats(2), () => model = new BpeTrainer(BenchModels.Vocab, 2).Train(documents, Console.Error.WriteLine), warmup: 0);
        var cpuSeconds = (CpuClock.Seconds() - cpu) / options.Repeats(2);
        yield return new(Section, "BPE training", megabytes / trainSeconds, "MB/s", $"{megabytes:F1} MB, {documents.Count:N0} documents");
        yield return new(Section, "BPE training time (full corpus)", trainSeconds, "s", $"vocab {model!.VocabSize}, best of {options.Repeats(2)}");
        yield return new(Section, "BPE training CPU time (full corpus)", cpuSeconds, "CPU-s", "mean per run; pre-token counting is parallel, merging is one thread");

        var tokenizer = TextTokenizer.FromModel(model);
        var ids = 0;
        var encodeSeconds = Timing.BestSeconds(options.Repeats(3), () => ids = TokenizedCorpus.EncodeDocuments(tokenizer, documents).Count);
        yield return new(Section, "encoding", megabytes / encodeSeconds, "MB/s", $"{ids:N0} tokens, {ids / encodeSeconds / 1e6:F2} M tokens/s");
    }
}
