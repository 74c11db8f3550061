using MiniLlmPipeline.Data;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// Scores (prompt, response) pairs with a reward model: the conversation is rendered with the chat
/// template and the score is read at its last token, as the Bradley–Terry reward model is trained
/// (Ouyang et al. 2022, §3.5). Too-long conversations keep their end, where the score is read.
/// </summary>
public sealed class RewardModelScorer(ScalarHeadModel model, TextTokenizer tokenizer)
{
    public ScalarHeadModel Model => model;

    /// <summary>A reward-model checkpoint (its score head required), checked against the spec's <c>model:</c> block first.</summary>
    public static RewardModelScorer Load(string checkpointDir, ModelSpec spec, torch.Device device)
    {
        ModelCheckpoint.ReadConfig(checkpointDir, spec);
        return new(ModelCheckpoint.LoadScalarHead(checkpointDir, device, headRequired: true),
            TextTokenizer.Load(Path.Combine(checkpointDir, ModelCheckpoint.TokenizerFolder)));
    }

    /// <summary>The ids the reward model reads for one answer: user turn, then assistant turn, up to its &lt;|im_end|&gt;.</summary>
    public int[] Encode(string prompt, string response)
    {
        var ids = ChatTemplate.Render(tokenizer, [new ConversationTurn("user", prompt), new ConversationTurn("assistant", response)]).Ids;
        var end = Array.LastIndexOf(ids, tokenizer.ImEndId) + 1;
        var maxSeqLen = model.Config.MaxSeqLen;
        return end > maxSeqLen ? ids[(end - maxSeqLen)..end] : ids[..end];
    }

    /// <summary>One score per pair, <paramref name="batchSize"/> pairs per forward pass.</summary>
    public double[] Score(IReadOnlyList<(string Prompt, string Response)> pairs, int batchSize = 16)
    {
        var scores = new double[pairs.Count];
        using var inference = InferenceMode.Enter(model);
        var device = model.parameters().First().device;
        for (var first = 0; first < pairs.Count; first += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var batch = pairs.Skip(first).Take(batchSize).Select(p => Encode(p.Prompt, p.Response)).ToList();
            var length = batch.Max(b => b.Length);
            // Right-padded: causal attention means pads after a row's last token never affect its score.
            var ids = new long[batch.Count * length];
            Array.Fill(ids, tokenizer.PadId);
            for (var r = 0; r < batch.Count; r++)
                for (var t = 0; t < batch[r].Length; t++) ids[r * length + t] = batch[r][t];
            var all = model.Scores(torch.tensor(ids, [batch.Count, length], device: device)); // (B, T)
            var last = torch.tensor(batch.Select(b => (long)b.Length - 1).ToArray(), device: device);
            var picked = all.gather(1, last.unsqueeze(1)).squeeze(1).to(torch.float64).cpu().data<double>().ToArray();
            picked.CopyTo(scores, first);
        }
        return scores;
    }

    /// <summary>
    /// Fraction of pairs whose chosen answer scores above the rejected one (ties count half), and the
    /// mean margin score(chosen) − score(rejected).
    /// </summary>
    public (double Accuracy, double MeanMargin) PairwiseAccuracy(IReadOnlyList<PreferenceExample> pairs, int batchSize = 16)
    {
        if (pairs.Count == 0) return (double.NaN, double.NaN);
        var chosen = Score(pairs.Select(p => (p.Prompt, p.Chosen)).ToList(), batchSize);
        var rejected = Score(pairs.Select(p => (p.Prompt, p.Rejected)).ToList(), batchSize);
        var margins = chosen.Zip(rejected, (c, r) => c - r).ToArray();
        return (margins.Average(m => m > 0 ? 1.0 : m == 0 ? 0.5 : 0.0), margins.Average());
    }
}
