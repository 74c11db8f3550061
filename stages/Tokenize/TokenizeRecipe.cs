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
/// (the layout of <see cref="TokenizedCorpus"/>).
/// </summary>
public static class TokenizeRecipe
{
    public static IReadOnlyDictionary<string, double> Run(StageContext<TokenizeConfig> context)
    {
        var config = context.Config;
        var train = ParquetDatasets.ReadText(config.Data).ToList();
        var trainBytes = Utf8Bytes(train);
        context.Log($"training BPE (vocab {config.VocabSize}, min frequency {config.MinFrequency}) on {train.Count:N0} documents, {trainBytes / 1e6:F1} MB");

        var clock = Stopwatch.StartNew();
        var model = new BpeTrainer(config.VocabSize, config.MinFrequency).Train(train, context.Log);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        context.Log($"learned {model.Merges.Count:N0} merges → vocab {model.VocabSize:N0} in {trainSeconds:F2}s ({trainBytes / 1e6 / trainSeconds:F1} MB/s)");
        if (model.VocabSize < config.VocabSize)
            context.Log($"vocab is {model.VocabSize}, below the requested {config.VocabSize}: no pair occurs {config.MinFrequency}+ times any more");

        var tokenizerDir = Path.Combine(context.StageDir, TokenizerDir);
        AtomicFile.ReplaceDirectory(tokenizerDir, model.Save);
        var tokenizer = TextTokenizer.Load(tokenizerDir);

        clock.Restart();
        var trainIds = EncodeDocuments(tokenizer, train);
        TokenFile.Write(Path.Combine(context.StageDir, TrainFile), trainIds, tokenizer.VocabSize);
        long encodedBytes = trainBytes, valTokens = 0;
        if (config.ValData is { } valPath)
        {
            var val = ParquetDatasets.ReadText(valPath).ToList();
            var valIds = EncodeDocuments(tokenizer, val);
            TokenFile.Write(Path.Combine(context.StageDir, ValFile), valIds, tokenizer.VocabSize);
            encodedBytes += Utf8Bytes(val);
            valTokens = valIds.Count;
        }
        var encodeSeconds = clock.Elapsed.TotalSeconds;
        var trainChars = train.Sum(t => (long)t.EnumerateRunes().Count());   // code points, not UTF-16 units
        var trainTextTokens = trainIds.Count - train.Count;
        context.Log($"encoded {trainIds.Count:N0} train + {valTokens:N0} val tokens in {encodeSeconds:F2}s ({encodedBytes / 1e6 / encodeSeconds:F1} MB/s)");

        return new Dictionary<string, double>
        {
            ["vocab_size"] = tokenizer.VocabSize,
            ["train_tokens"] = trainIds.Count,
            ["val_tokens"] = valTokens,
            ["chars_per_token"] = Math.Round(trainChars / (double)Math.Max(1, trainTextTokens), 3),
            ["train_seconds"] = Math.Round(trainSeconds, 3),
            ["train_mb_per_s"] = Math.Round(trainBytes / 1e6 / trainSeconds, 2),
            ["encode_mb_per_s"] = Math.Round(encodedBytes / 1e6 / encodeSeconds, 2),
        };
    }

    private static long Utf8Bytes(IEnumerable<string> texts) => texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
}
