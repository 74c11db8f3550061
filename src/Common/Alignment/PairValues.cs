namespace MiniLlmPipeline.Alignment;

/// <summary>One number per pair for its chosen and its rejected side (rewards, or sequence log-probs), indexed like the pair list it was computed for.</summary>
public sealed record PairValues(float[] Chosen, float[] Rejected);
