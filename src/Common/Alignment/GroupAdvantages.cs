using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// GRPO's advantage (Shao et al. 2024, DeepSeekMath §4.1.2, outcome supervision): each answer's reward against the other
/// answers to the same prompt, Â_i = (r_i − mean(r_group)) / std(r_group), the same for every token of the answer; the
/// group mean is the baseline a value model would otherwise learn. Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like
/// Training") shows that dividing by the group std weights prompts by how (un)certain the policy is on them (too easy and
/// too hard prompts, whose groups barely vary, get their tiny differences blown up) and drops it; <c>scale</c> chooses.
/// A group whose rewards are all equal has advantage 0 either way: it carries no signal about which answer is better.
/// </summary>
public static class GroupAdvantages
{
    /// <summary>The std floor of TRL's GRPOTrainer, so a near-constant group does not divide by ~0.</summary>
    public const double StdEpsilon = 1e-4;

    /// <summary>
    /// <paramref name="rewards"/> (B) holds groups of <paramref name="groupSize"/> consecutive answers (B = prompts × G);
    /// returns (B) advantages. The std is the unbiased sample std (Bessel's correction, as torch.std and TRL use).
    /// </summary>
    public static Tensor Compute(Tensor rewards, int groupSize, bool scale)
    {
        if (groupSize < 2) throw new ArgumentException("a group needs at least 2 answers", nameof(groupSize));
        if (rewards.dim() != 1 || rewards.shape[0] % groupSize != 0)
            throw new ArgumentException($"rewards must be (prompts × {groupSize}), got [{string.Join(",", rewards.shape)}]", nameof(rewards));
        using var scope = NewDisposeScope();
        var groups = rewards.view(-1, groupSize);                                   // (prompts, G)
        var centred = groups - groups.mean([1], keepdim: true);
        var advantages = scale ? centred / (groups.std(1, unbiased: true, keepdim: true) + StdEpsilon) : centred;
        return advantages.reshape(-1).MoveToOuterDisposeScope();
    }
}
