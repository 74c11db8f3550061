namespace MiniLlmPipeline.Data;

/// <summary>
/// One tokenized training sequence: <see cref="Ids"/> and, per token, whether the model is trained to predict it
/// (<see cref="LossMask"/>; e.g. true on assistant tokens only for SFT, on the response for DPO).
/// </summary>
public sealed record TokenizedSequence(int[] Ids, bool[] LossMask);
