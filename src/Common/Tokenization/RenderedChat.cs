namespace MiniLlmPipeline.Tokenization;

/// <summary>A conversation as token ids, with <see cref="LossMask"/>[i] true where token i is trained on.</summary>
public sealed record RenderedChat(int[] Ids, bool[] LossMask);
