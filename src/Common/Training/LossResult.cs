using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>A micro-batch's scalar loss to backpropagate, extra scalars to log, and the tokens it processed.</summary>
public sealed record LossResult(Tensor Loss, IReadOnlyDictionary<string, Tensor> Metrics, long Tokens)
{
    public static readonly IReadOnlyDictionary<string, Tensor> NoMetrics = new Dictionary<string, Tensor>();
}
