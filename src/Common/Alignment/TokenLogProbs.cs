using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>Per-token log-probabilities log π(y_t | x, y_&lt;t) of given target tokens under a model's logits.</summary>
public static class TokenLogProbs
{
    /// <summary>
    /// log p(target) for every position: <paramref name="logits"/> (B, T, V) and <paramref name="targets"/> (B, T) int64
    /// give (B, T) fp32. Computed as z_y − logsumexp(z) rather than <c>log_softmax(z).gather(y)</c>, so no second
    /// (B, T, V) log-softmax tensor is materialised (the same trick as TRL's <c>selective_log_softmax</c>); half-precision
    /// logits are upcast to fp32 first because logsumexp over a large vocabulary loses too much precision in bf16.
    /// Padding positions must still hold a valid token id (e.g. the pad id); mask them afterwards.
    /// </summary>
    public static Tensor Of(Tensor logits, Tensor targets)
    {
        if (logits.dim() != 3 || targets.dim() != 2 || logits.shape[0] != targets.shape[0] || logits.shape[1] != targets.shape[1])
            throw new ArgumentException($"Expected logits (B,T,V) and targets (B,T), got [{string.Join(",", logits.shape)}] and [{string.Join(",", targets.shape)}].");
        using var scope = NewDisposeScope();
        var z = logits.dtype is ScalarType.Float32 or ScalarType.Float64 ? logits : logits.to_type(ScalarType.Float32);
        var chosen = z.gather(-1, targets.to_type(ScalarType.Int64).unsqueeze(-1)).squeeze(-1); // (B, T)
        var logPartition = z.logsumexp(-1);                                                     // (B, T)
        return (chosen - logPartition).MoveToOuterDisposeScope();
    }
}
