using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// One micro-batch of next-token prediction: <see cref="Inputs"/> (B, T) and <see cref="Targets"/> (B, T) int64, the
/// <see cref="LossMask"/> (B, T) of the targets trained on (null: every target, as in pretraining text), the tokens it
/// processed (throughput) and extra scalars the trainer logs (e.g. the share of padding).
/// </summary>
public sealed record NextTokenBatch(Tensor Inputs, Tensor Targets, Tensor? LossMask, long Tokens, IReadOnlyDictionary<string, Tensor> Metrics);
