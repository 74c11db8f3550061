using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Generation;

/// <summary>
/// Beam search (as in Sutskever et al. 2014 and every MT system since): keep the <c>width</c> most likely partial
/// answers, extend each by every token, keep the best <c>width</c> again. An answer that ends in a stop token is set
/// aside; the result is the finished answer of highest log p / length^α (the length normalisation of Wu et al. 2016,
/// §7, in Hugging Face's simple form; α = 0 scores raw log-probability, which favours short answers). One prompt at
/// a time, re-running the whole sequence per step (no cache to reorder): for inspecting a model, not for serving.
/// </summary>
public static class BeamSearch
{
    /// <summary>The best completion of <paramref name="prompt"/> under <paramref name="model"/> (stop token included) and its log-probability.</summary>
    public static (int[] Tokens, double LogProb) Search(Gpt model, int[] prompt, int width, int maxNewTokens, int[] stopIds, double lengthPenalty = 1.0)
    {
        var fitted = BatchedGenerator.FitPrompt(prompt, model.Config.MaxSeqLen, maxNewTokens);
        var maxNew = Math.Min(maxNewTokens, model.Config.MaxSeqLen - fitted.Length);
        using var fp32 = MixedPrecision.Suspend();
        using var threads = TorchRuntime.ForDecoding();
        var device = model.parameters().First().device;
        return Search(ids => model.Logits(model.HiddenStates(ids.to(device)).select(1, -1)), fitted, width, maxNew, stopIds, lengthPenalty);
    }

    /// <summary>
    /// The search over any next-token scorer: <paramref name="nextTokenLogits"/> maps ids (W, T) to the logits of the
    /// token after each row (W, V).
    /// </summary>
    public static (int[] Tokens, double LogProb) Search(
        Func<Tensor, Tensor> nextTokenLogits, int[] prompt, int width, int maxNewTokens, int[] stopIds, double lengthPenalty = 1.0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (prompt.Length == 0) throw new ArgumentException("the prompt needs at least one token", nameof(prompt));
        using var noGrad = torch.no_grad();
        var stops = stopIds.ToHashSet();
        double Normalised(double logProb, int length) => logProb / Math.Pow(Math.Max(1, length), lengthPenalty);
        var active = new List<(int[] Tokens, double LogProb)> { ([], 0.0) };
        var finished = new List<(int[] Tokens, double LogProb)>();
        for (var step = 0; step < maxNewTokens && active.Count > 0; step++)
        {
            using var scope = torch.NewDisposeScope();
            var ids = torch.tensor(active.SelectMany(b => prompt.Concat(b.Tokens)).Select(i => (long)i).ToArray(),
                [active.Count, prompt.Length + step]);
            var logProbs = nextTokenLogits(ids).to(float64).log_softmax(-1);            // (W, V)
            var (top, index) = logProbs.topk(Math.Min(width, (int)logProbs.shape[1]), dim: -1); // (W, k)
            var topData = top.cpu().data<double>().ToArray();
            var indexData = index.cpu().data<long>().ToArray();
            var k = (int)top.shape[1];
            var candidates = new List<(int[] Tokens, double LogProb)>();
            for (var row = 0; row < active.Count; row++)
                for (var j = 0; j < k; j++)
                {
                    var lp = topData[row * k + j];
                    if (double.IsNegativeInfinity(lp)) continue;
                    candidates.Add(([.. active[row].Tokens, (int)indexData[row * k + j]], active[row].LogProb + lp));
                }
            active = [];
            // The best candidates in log-probability order: a finished one is set aside, the others carry on.
            foreach (var candidate in candidates.OrderByDescending(c => c.LogProb))
            {
                if (active.Count == width) break;
                if (stops.Contains(candidate.Tokens[^1])) finished.Add(candidate);
                else active.Add(candidate);
            }
            // Done when width answers are finished and no live beam can still beat the worst of them: its
            // log-probability only falls, and this bound is Hugging Face's (the normalisation at the current length).
            if (finished.Count >= width && active.Count > 0)
            {
                var kept = finished.Select(f => Normalised(f.LogProb, f.Tokens.Length)).OrderDescending().Take(width).Last();
                if (Normalised(active[0].LogProb, step + 1) <= kept) break;
            }
        }
        var best = finished.Concat(active).MaxBy(c => Normalised(c.LogProb, c.Tokens.Length));
        return best.Tokens is null ? ([], 0.0) : best;
    }
}
