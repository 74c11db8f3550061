using MiniLlmPipeline.Data;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// One preference example as token sequences: prompt + chosen and prompt + rejected rendered with the chat template,
/// each ending at its response's <c>&lt;|im_end|&gt;</c> (or cut at max_seq_len), with the loss mask true on the response
/// tokens. <see cref="Row"/> is the example's row in its dataset.
/// </summary>
public sealed record PreferencePair(int Row, TokenizedSequence Chosen, TokenizedSequence Rejected)
{
    /// <summary>The longer side's length, which decides the pair's padded width (what length bucketing sorts by).</summary>
    public int Length => Math.Max(Chosen.Ids.Length, Rejected.Ids.Length);
}
