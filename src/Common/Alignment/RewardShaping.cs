using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// The RLHF per-token reward (Ziegler et al. 2019 eq. 2; InstructGPT; TRL): r_t = −β·k1_t on every response token, with
/// k1_t = log π(y_t) − log π_ref(y_t), plus the sequence score from the reward model on the last real token only.
/// </summary>
public static class RewardShaping
{
    /// <summary>
    /// <paramref name="score"/> (B), log-probs and mask (B, T) → (B, T) rewards, 0 on padding. The mask must be 1 on a
    /// contiguous run of response tokens (right padding); the score goes on each row's last position with mask = 1.
    /// Inputs are detached: rewards are targets, not part of the graph.
    /// </summary>
    public static Tensor PerToken(Tensor score, Tensor logProbs, Tensor refLogProbs, Tensor mask, double klCoef)
    {
        using var scope = NewDisposeScope();
        var m = mask.to_type(logProbs.dtype).detach();
        var lengths = m.sum(-1);
        if (lengths.min().item<float>() < 1)
            throw new ArgumentException("Every row needs at least one response token to carry its score.", nameof(mask));
        var steps = m.shape[1];
        var positions = arange(steps, dtype: m.dtype, device: m.device);
        var lastIndex = (m * (positions + 1)).argmax(-1, keepdim: true); // index of the last 1 in each row
        var rewards = KlEstimators.K1(logProbs.detach(), refLogProbs.detach()) * (-klCoef) * m;
        rewards = rewards.scatter_add(-1, lastIndex, score.detach().to_type(m.dtype).unsqueeze(-1));
        return rewards.MoveToOuterDisposeScope();
    }
}
