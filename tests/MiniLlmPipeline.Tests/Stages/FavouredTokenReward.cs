using MiniLlmPipeline.Rlhf;

namespace MiniLlmPipeline.Tests.Stages;

/// <summary>
/// The RL objective tests' rule reward: the fraction of a response's tokens (stop token excluded) that are
/// <paramref name="favoured"/>; <paramref name="failAtCall"/> makes that call throw, to kill a run mid-training.
/// </summary>
internal sealed class FavouredTokenReward(int stop, int favoured, int? failAtCall = null) : IRolloutReward
{
    private int _calls;

    public RolloutScores Score(RolloutBatch batch)
    {
        if (_calls++ == failAtCall) throw new InvalidOperationException("simulated crash");
        var scores = batch.Responses
            .Select(r => r.Where(t => t != stop).ToArray())
            .Select(r => r.Length == 0 ? 0f : r.Count(t => t == favoured) / (float)r.Length).ToArray();
        return new RolloutScores(scores, new Dictionary<string, double> { ["favoured_fraction"] = scores.Average() });
    }
}
