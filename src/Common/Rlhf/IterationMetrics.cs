using System.Diagnostics;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// One RL iteration's record: the metrics measured when its experience was collected, plus the mean over its update steps
/// of each per-step metric, the training tokens/s and the time split (<c>rollout_seconds</c>, <c>iteration_seconds</c>),
/// timed from <paramref name="clock"/>, started when the iteration began; construct it when collection ends.
/// </summary>
public sealed class IterationMetrics(IReadOnlyDictionary<string, double> collected, Stopwatch clock)
{
    private readonly Dictionary<string, double> _sums = [];
    private readonly double _rolloutSeconds = clock.Elapsed.TotalSeconds;
    private int _steps;
    private long _tokens;

    /// <summary>Adds one update step's metrics (scalars; read to the host here) and the tokens it trained on.</summary>
    public void Accumulate(IReadOnlyDictionary<string, Tensor> values, long tokens)
    {
        foreach (var (key, value) in values) _sums[key] = _sums.GetValueOrDefault(key) + value.item<float>();
        _steps++;
        _tokens += tokens;
    }

    public Dictionary<string, double> Summarize()
    {
        var result = new Dictionary<string, double>(collected);
        foreach (var (key, sum) in _sums) result[key] = sum / Math.Max(1, _steps);
        var total = clock.Elapsed.TotalSeconds;
        result["train_tokens_per_s"] = _tokens / Math.Max(1e-9, total - _rolloutSeconds);
        result["rollout_seconds"] = _rolloutSeconds;
        result["iteration_seconds"] = total;
        return result;
    }
}
