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

    private Tensor CrossEntropy(NextTokenBatch batch) => CrossEntropy(model, batch.Inputs, batch.Targets, batch.LossMask);

    /// <summary>
    /// The loss pretraining and SFT train on: the output layer and the cross-entropy fused, so the batch's full logits
    /// never exist (<see cref="FusedLinearCrossEntropy"/>). Public so that <c>make bench</c> times this step and no other.
    /// </summary>
    public static Tensor CrossEntropy(Gpt model, Tensor inputs, Tensor targets, Tensor? lossMask = null) =>
        FusedLinearCrossEntropy.Compute(model.HiddenStates(inputs), model.OutputWeight, targets, lossMask,
            gradientDtype: model.Config.MatmulDtype);

    /// <summary>The validation means plus <c>val_ppl</c> = exp(<c>val_loss</c>) when there is one.</summary>
    public static IReadOnlyDictionary<string, double> WithPerplexity(IReadOnlyDictionary<string, double> means)
    {
        if (!means.TryGetValue("val_loss", out var loss)) return means;
        return new Dictionary<string, double>(means) { ["val_ppl"] = Math.Exp(loss) };
    }
}
