using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.Rlhf;

/// <summary>The prompts an RL stage samples from: the training set less the held-out ones, and each iteration's draw.</summary>
public static class PromptSet
{
    /// <summary>
    /// The prompts of <paramref name="promptsFile"/>, less the ones form compliance is measured on (the evaluator's first
    /// <paramref name="evalSamples"/> prompts of <paramref name="evalPrompts"/> with a form), so "after" stays a held-out
    /// figure even when the training prompts and the eval prompts are the same file.
    /// </summary>
    public static IReadOnlyList<PromptExample> WithoutHeldOut(string promptsFile, IReadOnlyList<PromptExample>? evalPrompts,
        int evalSamples, Action<string> log)
    {
        var all = ParquetDatasets.ReadPrompts(promptsFile);
        var heldOut = FormComplianceEvaluator.FormPrompts(evalPrompts ?? [], evalSamples).Select(p => p.Prompt).ToHashSet();
        var kept = all.Where(p => !heldOut.Contains(p.Prompt)).ToList();
        if (kept.Count == 0)
            throw new DatasetException($"{promptsFile}: all {all.Count} prompts are among the {heldOut.Count} held out for " +
                                       "form compliance (eval_prompts); add prompts or lower eval_samples");
        if (kept.Count < all.Count) log($"{all.Count - kept.Count} of {all.Count} prompts held out for form compliance");
        return kept;
    }

    /// <summary>
    /// <paramref name="batch"/> indices into a set of <paramref name="count"/> prompts for an iteration: distinct while the set
    /// allows, pure in (seed, iteration), so a run resumed at an iteration boundary draws the same prompts.
    /// </summary>
    public static int[] ForIteration(int count, int batch, int seed, int iteration)
    {
        var rng = new Random(SeedMix.Of(seed, -1 - iteration));
        var pool = Enumerable.Range(0, count).ToArray();
        var picked = new int[batch];
        for (var i = 0; i < picked.Length; i++)
        {
            var k = i % pool.Length;
            if (k == 0 && i > 0) rng.Shuffle(pool);
            var j = rng.Next(k, pool.Length);
            (pool[k], pool[j]) = (pool[j], pool[k]);
            picked[i] = pool[k];
        }
        return picked;
    }
}
