using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Generation;

/// <summary>Picks the next token of each row from its logits, on the device (no host round trip).</summary>
public static class Sampler
{
    /// <summary>logits (B, V) → token ids (B) int64. <paramref name="rng"/> makes sampling reproducible.</summary>
    public static Tensor Sample(Tensor logits, SamplingSettings settings, torch.Generator? rng = null)
    {
        using var scope = torch.NewDisposeScope();
        if (settings.IsGreedy) return logits.argmax(-1).MoveToOuterDisposeScope();
        var filtered = Filter(logits / settings.Temperature, settings.TopK, settings.TopP);
        var probs = filtered.softmax(-1);                                                // (B, V)
        return torch.multinomial(probs, 1, false, rng).squeeze(-1).MoveToOuterDisposeScope(); // (B)
    }

    /// <summary>
    /// Sets to −∞ every logit outside the k largest (top-k, Fan et al. 2018) and outside the nucleus:
    /// the smallest set of most likely tokens whose probability reaches p (top-p, Holtzman et al.
    /// 2020). The most likely token always survives.
    /// </summary>
    public static Tensor Filter(Tensor logits, int topK, double topP) // (B, V)
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
        return logits.MoveToOuterDisposeScope();
    }
}
