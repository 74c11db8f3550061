using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>
/// The next token of every row of a mixed batch, each row with its own temperature, top-p and generator.
/// Sampling is the Gumbel-max trick: argmax(logits/T + G) with G = −log(−log U) is an exact draw from
/// softmax(logits/T) (Gumbel 1954; Maddison et al. 2014), and each row's U comes from its own generator, so a
/// seeded request gets the same tokens alone or batched. Temperature 0 is the argmax.
/// </summary>
internal static class RowSampler
{
    public static Tensor Sample(Tensor logits, IReadOnlyList<DecodeRow> rows) // (B, V) → (B) int64
    {
        using var scope = torch.NewDisposeScope();
        if (rows.All(r => r.Job.Greedy)) return logits.argmax(-1).MoveToOuterDisposeScope();
        var device = logits.device;
        var vocab = logits.shape[1];
        var temperature = torch.tensor(rows.Select(r => r.Job.Greedy ? 1f : (float)r.Job.Temperature).ToArray(), device: device).unsqueeze(1);
        var scaled = logits / temperature;
        if (rows.Any(r => r.Job.TopP < 1))
        {
            // Top-p (Holtzman et al. 2020) as in Sampler.Filter, with one p per row; p = 1 rows keep everything.
            var topP = torch.tensor(rows.Select(r => r.Job.TopP < 1 ? (float)r.Job.TopP : 2f).ToArray(), device: device).unsqueeze(1);
            var (sorted, order) = scaled.sort(-1, descending: true);
            var probs = sorted.softmax(-1);
            var removeSorted = probs.cumsum(-1) - probs >= topP;
            scaled = scaled.masked_fill(removeSorted.scatter(-1, order, removeSorted), double.NegativeInfinity);
        }
        var uniform = torch.stack(rows.Select(r => r.Job.Greedy ? torch.full(vocab, 0.5f) : torch.rand(vocab, generator: r.Rng)).ToArray()).to(device);
        var gumbel = -(-uniform.clamp_min(1e-20).log()).log();
        var sampled = (scaled + gumbel).argmax(-1);
        var greedy = torch.tensor(rows.Select(r => r.Job.Greedy).ToArray(), device: device);
        return torch.where(greedy, logits.argmax(-1), sampled).MoveToOuterDisposeScope();
    }
}
