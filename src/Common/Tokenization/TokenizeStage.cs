using System.Diagnostics;
using System.Text;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// The tokenize stage: trains a <see cref="BpeTrainer"/> on the pretraining text, writes the tokenizer
/// folder, and encodes the training (and optional validation) text into flat token files for pretraining.
/// Output contract, read by pretraining from this stage's folder: <c>tokenizer/</c>, <c>train.bin</c>,
/// <c>val.bin</c> (only with <c>val_data</c>); documents in a token file are separated by <c>&lt;|endoftext|&gt;</c>.
/// </summary>
public static class TokenizeStage
{
    public const string TokenizerDir = "tokenizer";
    public const string TrainFile = "train.bin";
    public const string ValFile = "val.bin";

    public static StageDefinition<TokenizeConfig> Definition { get; } = new(
        StageNames.Tokenize,
        "Train a byte-level BPE tokenizer on the pretraining text and encode the text for pretraining",
        spec => spec.Stages.Tokenize,
        config => [("data", config.Data), ("val_data", config.ValData)],
        _ => [],
        Execute);

    public static IReadOnlyDictionary<string, double> Execute(StageContext<TokenizeConfig> context)
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

    /// <summary>All documents' ids in order, each followed by <c>&lt;|endoftext|&gt;</c>; documents are encoded in parallel.</summary>
    public static List<int> EncodeDocuments(TextTokenizer tokenizer, IReadOnlyList<string> documents)
    {
        var encoded = new IReadOnlyList<int>[documents.Count];
        Parallel.For(0, documents.Count, d => encoded[d] = tokenizer.Encode(documents[d]));
        var ids = new List<int>(encoded.Sum(e => e.Count + 1));
        foreach (var document in encoded)
        {
            ids.AddRange(document);
            ids.Add(tokenizer.EndOfTextId);
        }
        return ids;
    }

    private static long Utf8Bytes(IEnumerable<string> texts) => texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t));
}
