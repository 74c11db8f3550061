using MiniLlmPipeline.Data;
using MiniLlmPipeline.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// SFT conversations as next-token batches: each conversation rendered with the chat template, the loss on assistant
/// tokens only (InstructGPT, Ouyang et al. 2022, §3.5), right-padded batches of similar-length conversations drawn by a
/// <see cref="LengthBucketSampler"/>, so little compute goes to padding and micro-batch i is a pure function of (seed, i).
/// Causal attention means the right padding never influences a real position, and its targets carry mask 0. Validation
/// batches are the first epoch of a fixed-seed sampler over the validation set, averaged by trained tokens, so the figure
/// is the per-token loss over all of them whatever their lengths.
/// </summary>
public sealed class ConversationBatches : NextTokenBatches
{
    private readonly IReadOnlyList<TokenizedSequence> _validation;
    private readonly LengthBucketSampler _sampler;
    private readonly LengthBucketSampler? _validationSampler;
    private readonly int _evalBatches;
    private readonly int _padId;
    private readonly int _maxLength;
    private readonly Device _device;

    private ConversationBatches(IReadOnlyList<TokenizedSequence> train, int dropped, IReadOnlyList<TokenizedSequence>? validation,
        int batchSize, int evalBatches, int padId, int maxLength, long seed, Device device)
    {
        (Sequences, Dropped, _evalBatches, _padId, _maxLength, _device) = (train, dropped, evalBatches, padId, maxLength, device);
        _validation = validation ?? [];
        _sampler = new LengthBucketSampler(train.Select(s => s.Ids.Length).ToList(), batchSize, seed);
        _validationSampler = validation is null ? null : new LengthBucketSampler(validation.Select(s => s.Ids.Length).ToList(), batchSize, seed);
    }

    /// <summary>
    /// The conversations of the Parquet file <paramref name="data"/> (a <c>messages</c> column, or <c>prompt</c>/<c>response</c>)
    /// and, when given, of <paramref name="valData"/>; an example whose prompt fills the context is dropped, counted and
    /// logged through <paramref name="log"/>, and a file with none left is a <see cref="DatasetException"/>.
    /// </summary>
    public static ConversationBatches Load(string data, string? valData, TextTokenizer tokenizer, int maxLength,
        int batchSize, int evalBatches, long seed, Device device, Action<string> log)
    {
        var (train, dropped) = Encode(data, tokenizer, maxLength, log);
        var validation = valData is null ? null : Encode(valData, tokenizer, maxLength, log).Sequences;
        return new ConversationBatches(train, dropped, validation, batchSize, evalBatches, tokenizer.PadId, maxLength, seed, device);
    }

    /// <summary>The training conversations that were kept.</summary>
    public IReadOnlyList<TokenizedSequence> Sequences { get; }

    /// <summary>Training conversations dropped because their prompt fills the context.</summary>
    public int Dropped { get; }

    public override long ItemsPerEpoch => Sequences.Count;

    public override double MeanLength => Sequences.Average(s => Math.Min(s.Ids.Length - 1, _maxLength));

    public override NextTokenBatch Train(long microBatchIndex)
    {
        var batch = Collate(Sequences, _sampler.Batch(microBatchIndex));
        var realTokens = batch.Lengths.Sum();
        var padding = torch.tensor((float)(1.0 - realTokens / (double)batch.InputIds.numel()));
        return new NextTokenBatch(batch.InputIds, batch.Targets, batch.LossMask, realTokens,
            new Dictionary<string, Tensor> { ["padding"] = padding });
    }

    protected override int ValidationBatchCount => _validationSampler is null ? 0 : Math.Min(_evalBatches, _validationSampler.BatchesPerEpoch);

    protected override (NextTokenBatch Batch, double Weight) ValidationBatch(int k)
    {
        var batch = Collate(_validation, _validationSampler!.Batch(k));
        return (new NextTokenBatch(batch.InputIds, batch.Targets, batch.LossMask, batch.Lengths.Sum(), LossResult.NoMetrics), batch.TrainedTokens);
    }

    private SequenceBatch Collate(IReadOnlyList<TokenizedSequence> sequences, int[] indices) =>
        SequenceBatch.Build(indices.Select(i => sequences[i]).ToList(), _padId, _maxLength, _device);

    private static (IReadOnlyList<TokenizedSequence> Sequences, int Dropped) Encode(string path, TextTokenizer tokenizer, int maxLength, Action<string> log)
    {
        var examples = ParquetDatasets.ReadSft(path);
        var (kept, dropped) = ChatSequences.Encode(tokenizer, examples.Select(e => e.Messages), maxLength);
        if (kept.Count == 0)
            throw new DatasetException($"{path}: none of its {examples.Count} examples has an assistant token within max_seq_len {maxLength} " +
                                       "(every prompt fills the context); shorten the prompts or raise model.max_seq_len");
        if (dropped > 0)
            log($"{path}: dropped {dropped} of {examples.Count} examples whose prompt leaves no assistant token within max_seq_len {maxLength}");
        return (kept, dropped);
    }
}
