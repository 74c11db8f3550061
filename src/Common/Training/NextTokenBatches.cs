using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// The data of a next-token objective (pretraining text, SFT conversations), apart from its loss: training micro-batch i
/// as a pure function of (seed, i), which makes a resumed run exact, and fixed validation batches, the same at every
/// evaluation so that validation figures compare across steps. Pretrain, SFT and distillation train on these.
/// </summary>
public abstract class NextTokenBatches
{
    /// <summary>Micro-batch <paramref name="microBatchIndex"/> of training (0, 1, 2, … across the whole run).</summary>
    public abstract NextTokenBatch Train(long microBatchIndex);

    /// <summary>Items of one pass over the training data, for <see cref="TrainingConfig.ResolveSteps"/>.</summary>
    public abstract long ItemsPerEpoch { get; }

    /// <summary>Mean trained sequence length in tokens, for the FLOPs per token.</summary>
    public abstract double MeanLength { get; }

    /// <summary>How many validation batches an evaluation reads (0 without validation data).</summary>
    protected abstract int ValidationBatchCount { get; }

    /// <summary>Validation batch <paramref name="k"/> and its weight in the mean over batches.</summary>
    protected abstract (NextTokenBatch Batch, double Weight) ValidationBatch(int k);

    /// <summary>
    /// The weighted mean over the validation batches of each scalar <paramref name="measure"/> gives for a batch (e.g.
    /// <c>val_loss</c>); empty without validation data. Each batch is collated and measured in its own dispose scope: one
    /// scope around all of them held every batch's (B, T, V) logits at once, a ~450 MB spike in the default pretrain.
    /// </summary>
    public IReadOnlyDictionary<string, double> ValidationMeans(Func<NextTokenBatch, IReadOnlyDictionary<string, Tensor>> measure)
    {
        var sums = new Dictionary<string, double>();
        double weights = 0;
        for (var k = 0; k < ValidationBatchCount; k++)
        {
            using var scope = torch.NewDisposeScope();
            var (batch, weight) = ValidationBatch(k);
            foreach (var (key, value) in measure(batch)) sums[key] = sums.GetValueOrDefault(key) + value.item<float>() * weight;
            weights += weight;
        }
        return sums.ToDictionary(kv => kv.Key, kv => kv.Value / Math.Max(1, weights));
    }
}
