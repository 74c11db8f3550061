using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Generation;

/// <summary>Picks the next token of each row from its logits, on the device (no host round trip).</summary>
public static class Sampler
{
    /// <summary>
    /// logits (B, V) → token ids (B) int64. <paramref name="rng"/> makes sampling reproducible.
    /// <paramref name="previousTokens"/> (B, N) int64, the tokens each row generated so far, feeds the penalties;
    /// null (or N = 0) means nothing generated yet.
    /// </summary>
    public static Tensor Sample(Tensor logits, SamplingSettings settings, torch.Generator? rng = null, Tensor? previousTokens = null)
    {
        using var scope = torch.NewDisposeScope();
        if (settings.HasPenalties && previousTokens is not null && previousTokens.shape[1] > 0)
            logits = Penalize(logits, TokenCounts(previousTokens, logits.shape[^1]),
                settings.RepetitionPenalty, settings.FrequencyPenalty, settings.PresencePenalty);
        if (settings.IsGreedy) return logits.argmax(-1).MoveToOuterDisposeScope();
        var filtered = Filter(logits / settings.Temperature, settings.TopK, settings.TopP, settings.MinP);
        var probs = filtered.softmax(-1);                                                // (B, V)
        return torch.multinomial(probs, 1, false, rng).squeeze(-1).MoveToOuterDisposeScope(); // (B)
    }

    /// <summary>
    /// Sets to −∞ every logit outside the k largest (top-k, Fan et al. 2018), outside the nucleus:
    /// the smallest set of most likely tokens whose probability reaches p (top-p, Holtzman et al.
    /// 2020), and below the min-p floor: probability under min_p × the top token's (Nguyen et al. 2024),
    /// a cut that follows the model's confidence. The most likely token always survives.
    /// </summary>
    public static Tensor Filter(Tensor logits, int topK, double topP, double minP = 0) // (B, V)
    {
        using var scope = torch.NewDisposeScope();
        var vocab = logits.shape[^1];
        if (topK > 0 && topK < vocab)
        {
            var kth = logits.topk(topK, dim: -1).values.narrow(-1, topK - 1, 1); // (B, 1)
            logits = logits.masked_fill(logits < kth, double.NegativeInfinity);
        }
        if (topP < 1)
        {
            var (sorted, order) = logits.sort(-1, descending: true);             // (B, V)
            var probs = sorted.softmax(-1);
            // A token is outside the nucleus when the tokens ranked above it already reach p.
            var massBefore = probs.cumsum(-1) - probs;
            var removeSorted = massBefore >= topP;
            var remove = removeSorted.scatter(-1, order, removeSorted);         // back to vocabulary order
            logits = logits.masked_fill(remove, double.NegativeInfinity);
        }
        if (minP > 0)
        {
            // p_i < min_p · p_max  ⇔  logit_i < logit_max + log(min_p): no softmax needed.
            var floor = logits.max(-1, keepdim: true).values + Math.Log(minP);   // (B, 1)
            logits = logits.masked_fill(logits < floor, double.NegativeInfinity);
        }
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>previous (B, N) int64 → counts (B, V) float: how often each row generated each token.</summary>
    public static Tensor TokenCounts(Tensor previousTokens, long vocab)
    {
        using var scope = torch.NewDisposeScope();
        var counts = torch.zeros(previousTokens.shape[0], vocab, device: previousTokens.device);
        return counts.scatter_add_(1, previousTokens, torch.ones(previousTokens.shape, device: previousTokens.device)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The penalties on logits (B, V) given counts (B, V): for every token generated at least once, CTRL's
    /// repetition penalty θ (Keskar et al. 2019, eq. 3 divides the logit by θ; for a negative logit that would
    /// raise it, so it is multiplied instead, as every implementation does), then OpenAI's
    /// logit − count·frequency − [count &gt; 0]·presence. Scalars or (B, 1) tensors of per-row coefficients.
    /// </summary>
    public static Tensor Penalize(Tensor logits, Tensor counts, Tensor repetition, Tensor frequency, Tensor presence)
    {
        using var scope = torch.NewDisposeScope();
        var seen = counts > 0;
        var repeated = torch.where(logits > 0, logits / repetition, logits * repetition);
        logits = torch.where(seen, repeated, logits);
        logits = logits - counts * frequency - seen.to(logits.dtype) * presence;
        return logits.MoveToOuterDisposeScope();
    }

    public static Tensor Penalize(Tensor logits, Tensor counts, double repetition, double frequency, double presence)
    {
        using var scope = torch.NewDisposeScope();
        return Penalize(logits, counts, torch.tensor(repetition, logits.dtype, logits.device),
            torch.tensor(frequency, logits.dtype, logits.device), torch.tensor(presence, logits.dtype, logits.device)).MoveToOuterDisposeScope();
    }
}
