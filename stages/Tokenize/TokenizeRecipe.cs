using System.Diagnostics;
using System.Text;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tokenization;
using static MiniLlmPipeline.Tokenization.TokenizedCorpus;

namespace MiniLlmPipeline.Stages.Tokenize;

/// <summary>
/// The tokenize stage: trains a <see cref="BpeTrainer"/> on the pretraining text, writes the tokenizer
/// folder, and encodes the training (and optional validation) text into flat token files for pretraining
/// (the layout of <see cref="TokenizedCorpus"/>). The corpus streams row group by row group through both
/// passes (counting pre-tokens, then encoding), so peak memory is set by the distinct pre-tokens and the
/// largest row group, not by the corpus size.
/// </summary>
public static class TokenizeRecipe
{
    public static IReadOnlyDictionary<string, double> Run(StageContext<TokenizeConfig> context)
    {
        var config = context.Config;
        // Both datasets' shards are checked before anything is written.
        var train = TextDataset.Open(config.Data);
        var val = config.ValData is { } valPath ? TextDataset.Open(valPath) : null;
        context.Log($"training BPE (vocab {config.VocabSize}, min frequency {config.MinFrequency}) on {train.Rows:N0} documents in {train.Shards.Count} shard(s)"
            + (config.BpeSampleMb > 0 ? $", learning from the first {config.BpeSampleMb} MB" : ""));

        var clock = Stopwatch.StartNew();
        var sample = new SampledText(config.BpeSampleMb * 1_000_000L);
        var model = new BpeTrainer(config.VocabSize, config.MinFrequency).TrainOnBatches(sample.Take(train.RowGroups()), context.Log);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        context.Log($"learned {model.Merges.Count:N0} merges → vocab {model.VocabSize:N0} from {sample.Bytes / 1e6:F1} MB in {trainSeconds:F2}s ({sample.Bytes / 1e6 / trainSeconds:F1} MB/s)");
        if (model.VocabSize < config.VocabSize)
            context.Log($"vocab is {model.VocabSize}, below the requested {config.VocabSize}: no pair occurs {config.MinFrequency}+ times any more");

        var tokenizerDir = Path.Combine(context.StageDir, TokenizerDir);
        AtomicFile.ReplaceDirectory(tokenizerDir, model.Save);
        var tokenizer = TextTokenizer.Load(tokenizerDir);

        clock.Restart();
        var trainIds = EncodeToFile(tokenizer, train.RowGroups(), Path.Combine(context.StageDir, TrainFile));
        var valIds = val is null ? null : EncodeToFile(tokenizer, val.RowGroups(), Path.Combine(context.StageDir, ValFile));
        var encodeSeconds = clock.Elapsed.TotalSeconds;
        var encodedBytes = trainIds.Utf8Bytes + (valIds?.Utf8Bytes ?? 0);
        context.Log($"encoded {trainIds.Tokens:N0} train + {valIds?.Tokens ?? 0:N0} val tokens ({encodedBytes / 1e6:F1} MB) in {encodeSeconds:F2}s ({encodedBytes / 1e6 / encodeSeconds:F1} MB/s)");

        return new Dictionary<string, double>
        {
            ["vocab_size"] = tokenizer.VocabSize,
            ["train_tokens"] = trainIds.Tokens,
            ["val_tokens"] = valIds?.Tokens ?? 0,
            ["chars_per_token"] = Math.Round(trainIds.CodePoints / (double)Math.Max(1, trainIds.TextTokens), 3),
            ["train_seconds"] = Math.Round(trainSeconds, 3),
            ["train_mb_per_s"] = Math.Round(sample.Bytes / 1e6 / trainSeconds, 2),
            ["encode_mb_per_s"] = Math.Round(encodedBytes / 1e6 / encodeSeconds, 2),
            ["text_mb"] = Math.Round(trainIds.Utf8Bytes / 1e6, 2),
            // VmHWM: the number the scale benchmark (bench --only scale) checks stays flat as the corpus grows.
            ["peak_rss_mb"] = Math.Round(System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1),
        };
    }

    /// <summary>
    /// The row groups BPE training reads: all of them, or (<c>bpe_sample_mb</c>) whole documents from the start of the
    /// corpus until that many UTF-8 bytes — merges are learned from a prefix of a huge corpus, then everything is encoded.
    /// </summary>
    private sealed class SampledText(long limitBytes)
    {
        public long Bytes { get; private set; }

        public IEnumerable<IReadOnlyList<string>> Take(IEnumerable<string[]> rowGroups)
        {
            foreach (var group in rowGroups)
            {
                var n = 0;
                while (n < group.Length && (limitBytes <= 0 || Bytes < limitBytes)) Bytes += Encoding.UTF8.GetByteCount(group[n++]);
                yield return n == group.Length ? group : group[..n];
                if (n < group.Length) yield break;
            }
        }
    }
}
