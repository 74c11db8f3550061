using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Knowledge distillation (Hinton, Vinyals &amp; Dean 2015, "Distilling the Knowledge in a Neural Network", §2): the
/// student learns the teacher's soft next-token distribution as well as the data's hard next token. With logits z_s,
/// z_t, temperature τ, p = softmax(z_t/τ) and q = softmax(z_s/τ):
/// <code>
/// L = α · τ² · KL(p ‖ q) + (1 − α) · CE(y, softmax(z_s)),   KL(p ‖ q) = Σ_v p_v (log p_v − log q_v)
/// </code>
/// per token, averaged over the tokens the mask selects (all when it is null), each counted the same. The gradient of
/// KL(p ‖ q) with respect to z_s is (q − p)/τ, so the τ² keeps the soft term's gradient at the hard term's scale when τ
/// changes (Hinton §2). The hard term is evaluated at temperature 1, where the student is used. α = 0 is plain
/// cross-entropy (the student trained without a teacher), α = 1 pure distillation. Both distributions go through
/// log_softmax in fp32 (logsumexp, no exp overflow); the teacher's logits are detached here, so gradient reaches only the
/// student even if a caller forgot no_grad.
/// </summary>
public static class DistillationLoss
{
    /// <summary>
    /// The loss of <paramref name="studentLogits"/> (B, T, V) against <paramref name="teacherLogits"/> (B, T, V) and the
    /// data's <paramref name="targets"/> (B, T), over the positions <paramref name="mask"/> (B, T) selects. Returns the
    /// loss, the unscaled KL(p ‖ q) at τ and the hard cross-entropy, each a per-token mean.
    /// </summary>
    public static (Tensor Loss, Tensor Kl, Tensor CrossEntropy) Compute(
        Tensor studentLogits, Tensor teacherLogits, Tensor targets, Tensor? mask, double temperature, double alpha)
    {
        if (!double.IsFinite(temperature) || temperature <= 0)
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the temperature must be positive and finite.");
        if (alpha is < 0 or > 1 || double.IsNaN(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in [0, 1].");
        if (!studentLogits.shape.SequenceEqual(teacherLogits.shape))
            throw new ArgumentException($"Expected student and teacher logits of one shape, got [{string.Join(",", studentLogits.shape)}] and [{string.Join(",", teacherLogits.shape)}].");
        using var scope = NewDisposeScope();
        var kl = Kl(studentLogits, teacherLogits, mask, temperature);
        var crossEntropy = NextTokenCrossEntropy.Compute(studentLogits, targets, mask);
        var loss = crossEntropy * (1 - alpha) + kl * (alpha * temperature * temperature);
        return (loss.MoveToOuterDisposeScope(), kl.MoveToOuterDisposeScope(), crossEntropy.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// KL(softmax(z_t/τ) ‖ softmax(z_s/τ)) averaged over the positions <paramref name="mask"/> selects (all when null): the
    /// soft term without its τ², or at τ = 1 how far the student's next-token distribution is from the teacher's.
    /// </summary>
    public static Tensor Kl(Tensor studentLogits, Tensor teacherLogits, Tensor? mask, double temperature)
    {
        using var scope = NewDisposeScope();
        var perToken = TokenKl(studentLogits, teacherLogits, temperature);                   // (B, T)
        return (mask is null ? perToken.mean() : MaskedStatistics.Mean(perToken, mask)).MoveToOuterDisposeScope();
    }

    /// <summary>KL(softmax(z_t/τ) ‖ softmax(z_s/τ)) at every position: (B, T, V) logits give (B, T).</summary>
    private static Tensor TokenKl(Tensor studentLogits, Tensor teacherLogits, double temperature)
    {
        using var scope = NewDisposeScope();
        var logQ = log_softmax(Float32(studentLogits) / temperature, -1);                    // (B, T, V)
        var logP = log_softmax(Float32(teacherLogits.detach()) / temperature, -1);           // (B, T, V)
        return (logP.exp() * (logP - logQ)).sum(-1).MoveToOuterDisposeScope();               // (B, T)
    }

    private static Tensor Float32(Tensor logits) =>
        logits.dtype is ScalarType.Float32 or ScalarType.Float64 ? logits : logits.to_type(ScalarType.Float32);
}
