using MiniLlmPipeline.Data;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Tokenization;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// Pretraining text as next-token batches: random contiguous windows of max_seq_len + 1 tokens (nanoGPT's get_batch),
/// every target trained. Window b of micro-batch i starts at a position drawn from an RNG seeded by (seed, i); validation
/// window batch k by (seed, −1 − k). The corpus is the tokenize stage's token files, or Parquet text files the spec names
/// (encoded now, with the same tokenizer).
/// </summary>
public sealed class TextWindowBatches : NextTokenBatches, IDisposable
{
    private readonly ITokenSequence _train;
    private readonly ITokenSequence? _validation;
    private readonly IDisposable[] _files;
    private readonly int _batchSize;
    private readonly int _seqLen;
    private readonly long _seed;
    private readonly int _evalBatches;
    private readonly Device _device;

    private TextWindowBatches(ITokenSequence train, ITokenSequence? validation, IDisposable[] files,
        int batchSize, int seqLen, long seed, int evalBatches, Device device) =>
        (_train, _validation, _files, _batchSize, _seqLen, _seed, _evalBatches, _device) =
        (train, validation, files, batchSize, seqLen, seed, evalBatches, device);

    /// <summary>
    /// The tokenize stage's corpus in <paramref name="tokenizeDir"/> (train.bin; val.bin when it has one), or the Parquet
    /// <c>text</c> files <paramref name="data"/> / <paramref name="valData"/> in its place, encoded with <paramref name="tokenizer"/>.
    /// </summary>
    public static TextWindowBatches Open(string tokenizeDir, TextTokenizer tokenizer, string? data, string? valData,
        int batchSize, int seqLen, long seed, int evalBatches, Device device)
    {
        var files = new List<IDisposable>();
        try
        {
            var train = Corpus(data, Path.Combine(tokenizeDir, TokenizedCorpus.TrainFile), tokenizer, files)!;
            var validation = Corpus(valData, Path.Combine(tokenizeDir, TokenizedCorpus.ValFile), tokenizer, files, optional: true);
            return new TextWindowBatches(train, validation, [.. files], batchSize, seqLen, seed, evalBatches, device);
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    /// <summary>The training tokens.</summary>
    public long TrainTokens => _train.Count;

    public override long ItemsPerEpoch => _train.Count / _seqLen;

    public override double MeanLength => _seqLen;

    public override NextTokenBatch Train(long microBatchIndex)
    {
        var (inputs, targets) = TokenWindows.Sample(_train, _batchSize, _seqLen, SeedMix.Of(_seed, microBatchIndex), _device);
        return new NextTokenBatch(inputs, targets, LossMask: null, (long)_batchSize * _seqLen, LossResult.NoMetrics);
    }

    protected override int ValidationBatchCount => _validation is null ? 0 : _evalBatches;

    protected override (NextTokenBatch Batch, double Weight) ValidationBatch(int k)
    {
        var (inputs, targets) = TokenWindows.Sample(_validation!, _batchSize, _seqLen, SeedMix.Of(_seed, -1 - k), _device);
        return (new NextTokenBatch(inputs, targets, LossMask: null, (long)_batchSize * _seqLen, LossResult.NoMetrics), 1);
    }

    /// <summary>A token file of the tokenize stage, or the Parquet text file named in the spec, encoded now.</summary>
    private static ITokenSequence? Corpus(string? parquet, string tokenFile, TextTokenizer tokenizer, List<IDisposable> files, bool optional = false)
    {
        if (parquet is not null)
            return new InMemoryTokenSequence([.. TokenizedCorpus.EncodeDocuments(tokenizer, ParquetDatasets.ReadText(parquet).ToList())], tokenizer.VocabSize);
        if (!File.Exists(tokenFile))
            return optional ? null : throw new StageInputException($"{tokenFile}: the tokenize stage's corpus is missing; rerun `make tokenize FORCE=1`");
        var file = TokenFile.Open(tokenFile);
        files.Add(file);
        if (file.VocabSize != tokenizer.VocabSize)
            throw new StageInputException($"{tokenFile}: vocabulary size {file.VocabSize} does not match the tokenizer's {tokenizer.VocabSize}; rerun `make tokenize FORCE=1`");
        return file;
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}
