using MiniLlmPipeline.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>
/// The next token of every row of a mixed batch, each row with its own temperature, top-p, min-p, penalties and
/// generator. Sampling is the Gumbel-max trick: argmax(logits/T + G) with G = −log(−log U) is an exact draw from
/// softmax(logits/T) (Gumbel 1954; Maddison et al. 2014), and each row's U comes from its own generator, so a
/// seeded request gets the same tokens alone or batched. Temperature 0 is the argmax (of the penalised logits).
/// </summary>
internal static class RowSampler
{
    public static Tensor Sample(Tensor logits, IReadOnlyList<DecodeRow> rows) // (B, V) → (B) int64
    {
        using var scope = torch.NewDisposeScope();
        var device = logits.device;
        var vocab = logits.shape[1];
        Tensor Column(Func<DecodeRow, float> value) => torch.tensor(rows.Select(value).ToArray(), device: device).unsqueeze(1); // (B, 1)
        if (rows.Any(r => r.Job.HasPenalties))
        {
            var counts = new float[rows.Count * vocab];
            for (var i = 0; i < rows.Count; i++)
                foreach (var (token, count) in rows[i].Counts) counts[i * vocab + token] = count;
            logits = Sampler.Penalize(logits, torch.tensor(counts, [rows.Count, vocab], device: device), torch.ones(1, device: device),
                Column(r => (float)r.Job.FrequencyPenalty), Column(r => (float)r.Job.PresencePenalty));
        }
        if (rows.All(r => r.Job.Greedy)) return logits.argmax(-1).MoveToOuterDisposeScope();
        var scaled = logits / Column(r => r.Job.Greedy ? 1f : (float)r.Job.Temperature);
        if (rows.Any(r => r.Job.TopP < 1))
        {
            // Top-p (Holtzman et al. 2020) as in Sampler.Filter, with one p per row; p = 1 rows keep everything.
            var topP = Column(r => r.Job.TopP < 1 ? (float)r.Job.TopP : 2f);
            var (sorted, order) = scaled.sort(-1, descending: true);
            var probs = sorted.softmax(-1);
            var removeSorted = probs.cumsum(-1) - probs >= topP;
            scaled = scaled.masked_fill(removeSorted.scatter(-1, order, removeSorted), double.NegativeInfinity);
        }
        if (rows.Any(r => r.Job.MinP > 0))
        {
            // Min-p as in Sampler.Filter, one floor per row; log 0 = −∞ keeps everything in min_p = 0 rows.
            var floor = scaled.max(-1, keepdim: true).values + Column(r => (float)r.Job.MinP).log();
            scaled = scaled.masked_fill(scaled < floor, double.NegativeInfinity);
        }
        var uniform = torch.stack(rows.Select(r => r.Job.Greedy ? torch.full(vocab, 0.5f) : torch.rand(vocab, generator: r.Rng)).ToArray()).to(device);
        var gumbel = -(-uniform.clamp_min(1e-20).log()).log();
        var sampled = (scaled + gumbel).argmax(-1);
        var greedy = torch.tensor(rows.Select(r => r.Job.Greedy).ToArray(), device: device);
        return torch.where(greedy, logits.argmax(-1), sampled).MoveToOuterDisposeScope();
    }
}
