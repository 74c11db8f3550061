using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Pretrain;

/// <summary>
/// Next-token prediction on random contiguous windows of the corpus (nanoGPT's get_batch): window b of
/// micro-batch i starts at a position drawn from an RNG seeded by (seed, i), so the data order is a pure
/// function of the step and a resumed run sees exactly what the uninterrupted run would have.
/// </summary>
internal sealed class PretrainObjective(
    Gpt model, ITokenSequence train, ITokenSequence? validation, int batchSize, int seqLen, int seed, int evalBatches,
    Device device) : ITrainingObjective
{
    public LossResult Loss(long microBatchIndex)
    {
        var (inputs, targets) = Windows(train, batchSize, SeedMix.Of(seed, microBatchIndex));
        var logits = model.call(inputs);                                            // (B, T, V)
        var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1));
        return new LossResult(loss, LossResult.NoMetrics, (long)batchSize * seqLen);
    }

    public IReadOnlyDictionary<string, double> Evaluate()
    {
        if (validation is null) return new Dictionary<string, double>();
        double total = 0;
        for (var k = 0; k < evalBatches; k++)
        {
            // The same windows at every evaluation, so validation losses are comparable across steps.
            var (inputs, targets) = Windows(validation, batchSize, SeedMix.Of(seed, -1 - k));
            var logits = model.call(inputs);
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), targets.reshape(-1)).item<float>();
        }
        var loss = total / evalBatches;
        return new Dictionary<string, double> { ["val_loss"] = loss, ["val_ppl"] = Math.Exp(loss) };
    }

    /// <summary>Inputs (B, T) and next-token targets (B, T) from B random windows of T + 1 ids.</summary>
    private (Tensor Inputs, Tensor Targets) Windows(ITokenSequence tokens, int rows, int windowSeed)
    {
        if (tokens.Count < seqLen + 1)
            throw new DatasetException($"the corpus has {tokens.Count} tokens, fewer than one training window of max_seq_len + 1 = {seqLen + 1}");
        var rng = new Random(windowSeed);
        var ids = new long[rows * (seqLen + 1)];
        for (var b = 0; b < rows; b++)
            tokens.Read(rng.NextInt64(0, tokens.Count - seqLen), ids.AsSpan(b * (seqLen + 1), seqLen + 1));
        var window = torch.tensor(ids, [rows, seqLen + 1], device: device);
        return (window.narrow(1, 0, seqLen), window.narrow(1, 1, seqLen));
    }

}
