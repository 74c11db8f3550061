using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// Generalized Advantage Estimation (Schulman et al. 2016, eq. 16): Â_t = Σ_l (γλ)^l δ_{t+l} with the TD residual
/// δ_t = r_t + γV_{t+1} − V_t, computed by the backward recursion Â_t = δ_t + γλÂ_{t+1} as TRL's PPO trainer does.
/// Each row is one episode over the response tokens; the state after its last real token is terminal (V = 0).
/// </summary>
public static class GeneralizedAdvantageEstimate
{
    /// <summary>
    /// <paramref name="rewards"/>, <paramref name="values"/> and <paramref name="mask"/> are (B, T); the mask is 1 on
    /// response tokens and 0 on the right padding after each row's end. Padding contributes no reward, no bootstrap value
    /// and gets Â = 0 and return 0. Returns (the value-function targets) are Â + V. Both outputs are detached: they are
    /// targets, never differentiated through.
    /// </summary>
    public static AdvantageEstimate Compute(Tensor rewards, Tensor values, Tensor mask, double gamma, double lambda)
    {
        if (rewards.dim() != 2 || !rewards.shape.SequenceEqual(values.shape) || !rewards.shape.SequenceEqual(mask.shape))
            throw new ArgumentException($"Expected rewards, values and mask of the same (B,T) shape, got [{string.Join(",", rewards.shape)}], [{string.Join(",", values.shape)}], [{string.Join(",", mask.shape)}].");
        using var scope = NewDisposeScope();
        var m = mask.to_type(values.dtype).detach();
        var r = rewards.detach() * m;
        var v = values.detach() * m; // V = 0 on padding, so V_{t+1} after the last real token is the terminal 0
        var steps = rewards.shape[1];
        var columns = new Tensor[steps];
        var nextAdvantage = zeros_like(v[.., 0]);
        var nextValue = zeros_like(v[.., 0]);
        for (var t = steps - 1; t >= 0; t--)
        {
            var delta = r[.., t] + gamma * nextValue - v[.., t];
            // Multiplying by m_t zeroes padding, so the recursion restarts from 0 at each row's real end.
            nextAdvantage = (delta + gamma * lambda * nextAdvantage) * m[.., t];
            nextValue = v[.., t];
            columns[t] = nextAdvantage;
        }
        var advantages = stack(columns, 1);
        var returns = advantages + v;
        return new AdvantageEstimate(advantages.MoveToOuterDisposeScope(), returns.MoveToOuterDisposeScope());
    }
}
