using MiniLlmPipeline.Model;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Alignment;

/// <summary>
/// B preference pairs as one right-padded batch of 2B rows: rows [0, B) are prompt + chosen, rows [B, 2B) prompt +
/// rejected, in the same pair order. <see cref="InputIds"/> (2B, T) int64 (padding = pad id), <see cref="ResponseMask"/>
/// (2B, T) float32 (1 on response tokens, <c>&lt;|im_end|&gt;</c> included), <see cref="LastTokenIndex"/> (2B) int64, the
/// position of each row's last real token (a reward model's score is read there). Right padding needs no attention
/// mask: under the causal mask no real token ever sees the padding after it.
/// </summary>
public sealed record PreferenceBatch(Tensor InputIds, Tensor ResponseMask, Tensor LastTokenIndex, int Pairs, long Tokens) : IDisposable
{
    /// <summary>
    /// (2B) log π(response | prompt) under <paramref name="model"/>: the sum over response tokens (DPO eq. 7), or with
    /// <paramref name="lengthNormalised"/> their mean (IPO as TRL computes it), through <see cref="TokenLogProbsUnder"/>.
    /// </summary>
    public Tensor ResponseLogProbs(Gpt model, bool lengthNormalised = false)
    {
        using var scope = NewDisposeScope();
        return ResponseLogProbsOf(TokenLogProbsUnder(model), lengthNormalised).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// log π(token i | tokens &lt; i) of every row's tokens 1 … T − 1 under <paramref name="model"/> (2B, T − 1), through
    /// <see cref="FusedLinearTokenLogProbs"/>: no (2B, T, V) logits tensor is kept for the backward pass, only
    /// onehot − softmax in the model's matmul dtype.
    /// </summary>
    public Tensor TokenLogProbsUnder(Gpt model)
    {
        var t = InputIds.shape[1];
        using var scope = NewDisposeScope();
        // The token at position i is predicted by the hidden state at i − 1.
        var hidden = model.HiddenStates(InputIds).narrow(1, 0, t - 1);
        return FusedLinearTokenLogProbs.Compute(hidden, model.OutputWeight, InputIds.narrow(1, 1, t - 1),
            gradientDtype: model.Config.MatmulDtype).MoveToOuterDisposeScope();
    }

    /// <summary>(2B, T − 1) token log-probs of tokens 1 … T − 1 → (2B) their sum over response tokens, or mean.</summary>
    public Tensor ResponseLogProbsOf(Tensor tokenLogProbs, bool lengthNormalised)
    {
        var mask = ResponseMask.narrow(1, 1, InputIds.shape[1] - 1);
        return lengthNormalised ? SequenceLogProbs.Mean(tokenLogProbs, mask) : SequenceLogProbs.Sum(tokenLogProbs, mask);
    }

    /// <summary>(2B, T) per-position values (e.g. scalar-head scores) → (2B) the value at each row's last real token.</summary>
    public Tensor AtLastToken(Tensor perPosition) => perPosition.gather(1, LastTokenIndex.unsqueeze(1)).squeeze(1);

    /// <summary>(2B, …) per-row values → the chosen rows' and the rejected rows' (B, …) halves.</summary>
    public (Tensor Chosen, Tensor Rejected) Split(Tensor rows) => (rows.narrow(0, 0, Pairs), rows.narrow(0, Pairs, Pairs));

    public void Dispose()
    {
        InputIds.Dispose();
        ResponseMask.Dispose();
        LastTokenIndex.Dispose();
    }
}
