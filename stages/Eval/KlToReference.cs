using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tokenization;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Eval;

/// <summary>
/// How far a stage's policy moved from a reference (the SFT model), measured on the stage's own held-out answers:
/// KL(π ‖ π_ref) per answer token ≈ mean_t [log π(y_t) − log π_ref(y_t)] over answers y ~ π (the k1 estimator, unbiased
/// on samples from π; Schulman 2020), both models under the evaluator's sampling temperature. Answers are re-encoded from
/// their text (the tokens a reader sees), so the estimate is over those tokens rather than the sampled ids; top-p
/// truncation is not in the log-probs, so it can dip slightly below 0 for a policy that barely moved.
/// </summary>
internal static class KlToReference
{
    private const int Batch = 32;

    public static double PerToken(Gpt policy, Gpt reference, TextTokenizer tokenizer, IReadOnlyList<FormAnswer> answers, double temperature)
    {
        var t = temperature > 0 ? temperature : 1.0;
        var rows = answers.Select(a => (Prompt: ChatTemplate.RenderPrompt(tokenizer, a.Prompt), Response: tokenizer.Encode(a.Response).ToArray()))
            .Select(r => (r.Prompt, Response: BatchedFit(r.Prompt, r.Response, policy.Config.MaxSeqLen)))
            .Where(r => r.Response.Length > 0).ToList();
        if (rows.Count == 0) return 0;
        using var noGrad = no_grad();
        var device = policy.parameters().First().device;
        double sum = 0;
        long tokens = 0;
        foreach (var chunk in rows.Chunk(Batch))
        {
            using var scope = NewDisposeScope();
            using var batch = RolloutBatch.Build(Enumerable.Range(0, chunk.Length).ToList(), chunk.Select(r => r.Prompt).ToList(),
                chunk.Select(r => r.Response).ToList(), tokenizer.PadId, device);
            var logRatio = RolloutLogProbs.Of(policy, batch, t) - RolloutLogProbs.Of(reference, batch, t);
            var mask = batch.ResponseMask.to_type(logRatio.dtype);
            sum += (logRatio * mask).sum().item<float>();
            tokens += (long)mask.sum().item<float>();
        }
        return sum / Math.Max(1, tokens);
    }

    /// <summary>The response cut so prompt + response fit the context (the prompt is never longer: the generator trimmed it).</summary>
    private static int[] BatchedFit(int[] prompt, int[] response, int maxSeqLen) =>
        response.Take(Math.Max(0, maxSeqLen - prompt.Length)).ToArray();
}
