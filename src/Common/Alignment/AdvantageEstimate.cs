using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>Per-token advantages Â_t and value targets (returns) Â_t + V_t, both (B, T) and 0 on padding.</summary>
public sealed record AdvantageEstimate(Tensor Advantages, Tensor Returns);
