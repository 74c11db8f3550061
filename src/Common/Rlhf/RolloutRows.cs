using static TorchSharp.torch;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// Some rows of a <see cref="RolloutBatch"/> (<see cref="RolloutBatch.Select"/>), laid out as a batch of their own: a
/// prompt of <see cref="PromptLength"/> columns (left-padded) then a response of <see cref="ResponseLength"/> columns
/// (right-padded), both as narrow as those rows allow. Its tensors belong to the caller's dispose scope.
/// </summary>
public sealed record RolloutRows(Tensor Index, int PromptLength, int ResponseLength, Tensor Ids, Tensor AttentionMask,
    Tensor ResponseIds, Tensor ResponseMask)
{
    /// <summary>The same rows of a per-row tensor (B, …) of the whole batch.</summary>
    public Tensor PerRow(Tensor wholeBatch) => wholeBatch.index_select(0, Index);

    /// <summary>The same rows and response columns of a per-token tensor (B, R) of the whole batch.</summary>
    public Tensor PerToken(Tensor wholeBatch) => wholeBatch.index_select(0, Index).narrow(1, 0, ResponseLength);
}
