using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Sft;

/// <summary>
/// Supervised fine-tuning: next-token cross-entropy on the assistant tokens only (InstructGPT, Ouyang et al. 2022, §3.5),
/// over right-padded batches of similar-length conversations drawn by a <see cref="LengthBucketSampler"/>, so little compute
/// goes to padding and micro-batch i is a pure function of (seed, i) for exact resume. Causal attention means the right
/// padding never influences a real position, and its targets carry mask 0.
/// </summary>
internal sealed class SftObjective(
    Gpt model, IReadOnlyList<TokenizedSequence> train, LengthBucketSampler sampler, IReadOnlyList<TokenizedSequence>? validation,
    int evalBatches, int padId, int maxLength, long seed, Device device) : ITrainingObjective
{
    private readonly LengthBucketSampler? _validationSampler = validation is null ? null
        : new LengthBucketSampler(validation.Select(s => s.Ids.Length).ToList(), sampler.BatchSize, seed);

    public LossResult Loss(long microBatchIndex)
    {
        var batch = Collate(train, sampler.Batch(microBatchIndex));   // freed by the trainer's per-micro-batch scope
        var logits = model.call(batch.InputIds);                        // (B, T, V)
        var loss = NextTokenCrossEntropy.Compute(logits, batch.Targets, batch.LossMask);
        var realTokens = batch.Lengths.Sum();
        var padding = torch.tensor((float)(1.0 - realTokens / (double)batch.InputIds.numel()));
        return new LossResult(loss, new Dictionary<string, Tensor> { ["padding"] = padding }, realTokens);
    }

    public IReadOnlyDictionary<string, double> Evaluate()
    {
        if (validation is null || _validationSampler is null) return new Dictionary<string, double>();
        // The same batches at every evaluation (the first epoch of a fixed-seed sampler), weighted by trained
        // tokens so the figure is the per-token loss over all of them whatever their lengths.
        double lossSum = 0, tokens = 0;
        for (var k = 0; k < Math.Min(evalBatches, _validationSampler.BatchesPerEpoch); k++)
        {
            using var scope = torch.NewDisposeScope();
            var batch = Collate(validation, _validationSampler.Batch(k));
            var trained = batch.TrainedTokens;
            lossSum += NextTokenCrossEntropy.Compute(model.call(batch.InputIds), batch.Targets, batch.LossMask).item<float>() * trained;
            tokens += trained;
        }
        var loss = lossSum / Math.Max(1, tokens);
        return new Dictionary<string, double> { ["val_loss"] = loss, ["val_ppl"] = Math.Exp(loss) };
    }

    private SequenceBatch Collate(IReadOnlyList<TokenizedSequence> sequences, int[] indices) =>
        SequenceBatch.Build(indices.Select(i => sequences[i]).ToList(), padId, maxLength, device);
}
