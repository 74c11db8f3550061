using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// Perplexity exp(mean next-token cross-entropy) of a language model on held-out token ids, cut into
/// fixed, non-overlapping windows of max_seq_len targets (each window's inputs start one token earlier),
/// so every stage is scored on exactly the same tokens and contexts.
/// </summary>
public static class ValidationPerplexity
{
    /// <summary>Perplexity over the first <paramref name="maxWindows"/> windows (0 = all); NaN when there are fewer than 2 ids.</summary>
    public static double Compute(Gpt model, IReadOnlyList<int> ids, int maxWindows, int batchSize = 8)
    {
        if (ids.Count < 2) return double.NaN;
        var length = Math.Min(model.Config.MaxSeqLen, ids.Count - 1);
        var windows = (ids.Count - 1) / length;
        if (maxWindows > 0) windows = Math.Min(windows, maxWindows);
        var device = model.parameters().First().device;

        double totalLoss = 0;
        using var inference = InferenceMode.Enter(model);
        for (var first = 0; first < windows; first += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var rows = Math.Min(batchSize, windows - first);
            var inputs = new long[rows * length];
            var targets = new long[rows * length];
            for (var r = 0; r < rows; r++)
            {
                var start = (first + r) * length;
                for (var t = 0; t < length; t++)
                {
                    inputs[r * length + t] = ids[start + t];
                    targets[r * length + t] = ids[start + t + 1];
                }
            }
            var logits = model.forward(torch.tensor(inputs, [rows, length], device: device)); // (B, T, V)
            var loss = NextTokenCrossEntropy.Compute(
                logits, torch.tensor(targets, [rows, length], device: device), reduction: torch.nn.Reduction.Sum);
            totalLoss += loss.to(torch.float64).item<double>();
        }
        return Math.Exp(totalLoss / ((double)windows * length));
    }
}
