using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Next-token cross-entropy on <see cref="NextTokenBatches"/>: pretraining on text windows (every token), SFT on
/// conversations (assistant tokens only), through <see cref="FusedLinearCrossEntropy"/>. Validation reports <c>val_loss</c> and <c>val_ppl</c> = exp(val_loss).
/// </summary>
public sealed class NextTokenObjective(Gpt model, NextTokenBatches data) : ITrainingObjective
{
    public LossResult Loss(long microBatchIndex)
    {
        var batch = data.Train(microBatchIndex);     // freed by the trainer's per-micro-batch scope
        return new LossResult(CrossEntropy(batch), batch.Metrics, batch.Tokens);
    }

    public IReadOnlyDictionary<string, double> Evaluate() => WithPerplexity(data.ValidationMeans(batch =>
        new Dictionary<string, Tensor> { ["val_loss"] = CrossEntropy(batch) }));

    // The output layer and the loss fused, so the batch's full logits never exist (FusedLinearCrossEntropy).
    private Tensor CrossEntropy(NextTokenBatch batch) =>
        FusedLinearCrossEntropy.Compute(model.HiddenStates(batch.Inputs), model.OutputWeight, batch.Targets, batch.LossMask);

    /// <summary>The validation means plus <c>val_ppl</c> = exp(<c>val_loss</c>) when there is one.</summary>
    public static IReadOnlyDictionary<string, double> WithPerplexity(IReadOnlyDictionary<string, double> means)
    {
        if (!means.TryGetValue("val_loss", out var loss)) return means;
        return new Dictionary<string, double>(means) { ["val_ppl"] = Math.Exp(loss) };
    }
}
