using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
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
        var (inputs, targets) = TokenWindows.Sample(train, batchSize, seqLen, SeedMix.Of(seed, microBatchIndex), device);
        var logits = model.call(inputs);                                            // (B, T, V)
        var loss = NextTokenCrossEntropy.Compute(logits, targets);
        return new LossResult(loss, LossResult.NoMetrics, (long)batchSize * seqLen);
    }

    public IReadOnlyDictionary<string, double> Evaluate()
    {
        if (validation is null) return new Dictionary<string, double>();
        double total = 0;
        for (var k = 0; k < evalBatches; k++)
        {
            // The same windows at every evaluation, so validation losses are comparable across steps. A scope per batch:
            // one scope around all of them held every batch's (B, T, V) logits at once, a ~450 MB spike in the default pretrain.
            using var scope = NewDisposeScope();
            var (inputs, targets) = TokenWindows.Sample(validation, batchSize, seqLen, SeedMix.Of(seed, -1 - k), device);
            var logits = model.call(inputs);
            total += NextTokenCrossEntropy.Compute(logits, targets).item<float>();
        }
        var loss = total / evalBatches;
        return new Dictionary<string, double> { ["val_loss"] = loss, ["val_ppl"] = Math.Exp(loss) };
    }
}
