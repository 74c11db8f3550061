using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using TorchSharp;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// How every RL stage samples an iteration's answers and orders its update passes, both pure in (seed, iteration), so a
/// run resumed at an iteration boundary regenerates exactly what the uninterrupted run had.
/// </summary>
public static class RolloutSampling
{
    /// <summary>
    /// The policy's answers to <paramref name="prompts"/> (stop token included when produced) with the iteration's own
    /// generator; an empty answer becomes one pad token, so every rollout row has a response position to score.
    /// </summary>
    public static IReadOnlyList<int[]> Sample(Gpt policy, IReadOnlyList<int[]> prompts, SamplingSettings settings, int seed, int iteration,
        int[] stopIds, int padId)
    {
        var rng = new torch.Generator((ulong)SeedMix.Of(seed, iteration), policy.parameters().First().device);
        return BatchedGenerator.Generate(policy, prompts, settings, stopIds, padId, rng).Select(r => r.Length == 0 ? [padId] : r).ToList();
    }

    /// <summary>The row order of each of <paramref name="epochs"/> update passes: a fresh shuffle per pass, pure in (seed, iteration, pass).</summary>
    public static int[][] EpochOrders(int seed, int iteration, int epochs, int rows) =>
        Enumerable.Range(0, epochs).Select(epoch =>
        {
            var order = Enumerable.Range(0, rows).ToArray();
            new Random(SeedMix.Of(SeedMix.Of(seed, iteration), epoch)).Shuffle(order);
            return order;
        }).ToArray();

    /// <summary>
    /// All rows, shortest first, in groups of at most <paramref name="size"/>: for forward passes without gradients only.
    /// Update steps keep <see cref="EpochOrders"/>' random mini-batches: in a task whose reward depends on length, mini-batches
    /// sorted by length separate the good answers of a group from the bad (GRPO fell from ~84 % to 65–69 % with them).
    /// </summary>
    public static IEnumerable<IReadOnlyList<int>> ByLength(IReadOnlyList<int> lengths, int size) =>
        Enumerable.Range(0, lengths.Count).OrderBy(r => lengths[r]).Chunk(size);
}
