using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Distill;

/// <summary>
/// Distillation on next-token batches (the pretraining windows or the SFT conversations that pretrain and sft train on):
/// the student's <see cref="DistillationLoss"/> against the frozen teacher's logits on the same inputs, over the tokens the
/// data trains on. With α = 0 the teacher is not consulted during training (the baseline: the student on the data alone).
/// Validation reports the hard cross-entropy (<c>val_loss</c>, <c>val_ppl</c>: comparable with the teacher's and the
/// baseline's) and <c>val_kl</c>, KL(teacher ‖ student) per trained token at temperature 1.
/// </summary>
internal sealed class DistillObjective(Gpt student, Gpt teacher, NextTokenBatches data, double temperature, double alpha) : ITrainingObjective
{
    public LossResult Loss(long microBatchIndex)
    {
        var batch = data.Train(microBatchIndex);   // freed by the trainer's per-micro-batch scope
        var logits = student.call(batch.Inputs);   // (B, T, V)
        if (alpha == 0)
            return new LossResult(NextTokenCrossEntropy.Compute(logits, batch.Targets, batch.LossMask), batch.Metrics, batch.Tokens);
        var (loss, kl, crossEntropy) = DistillationLoss.Compute(logits, TeacherLogits(batch.Inputs), batch.Targets, batch.LossMask, temperature, alpha);
        var metrics = new Dictionary<string, Tensor>(batch.Metrics) { ["kl"] = kl.detach(), ["ce"] = crossEntropy.detach() };
        return new LossResult(loss, metrics, batch.Tokens);
    }

    public IReadOnlyDictionary<string, double> Evaluate() => NextTokenObjective.WithPerplexity(data.ValidationMeans(batch =>
    {
        var logits = student.call(batch.Inputs);
        return new Dictionary<string, Tensor>
        {
            ["val_loss"] = NextTokenCrossEntropy.Compute(logits, batch.Targets, batch.LossMask),
            ["val_kl"] = DistillationLoss.Kl(logits, TeacherLogits(batch.Inputs), batch.LossMask, temperature: 1),
        };
    }));

    /// <summary>The teacher's logits (B, T, V), without a graph: it is frozen, and only its numbers are needed.</summary>
    private Tensor TeacherLogits(Tensor inputs)
    {
        using var noGrad = torch.no_grad();
        return teacher.call(inputs);
    }
}
