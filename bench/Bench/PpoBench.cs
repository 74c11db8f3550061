using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Ppo;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// PPO at the default pipeline's ppo shapes (rollout 32 prompts of 20–30 tokens, ≤ 80 new tokens sampled at T = 1, two PPO
/// epochs of mini-batches of 16; random weights, so no row stops early: the worst case): rollout generation with and
/// without the KV cache, then whole iterations through the shared trainer. CPU seconds per iteration are reported too:
/// on a shared machine they estimate the idle wall time (÷ the cores torch uses) better than the wall clock does.
/// </summary>
internal static class PpoBench
{
    public const string Section = "ppo";

    private sealed class LengthReward : IRolloutReward
    {
        public RolloutScores Score(RolloutBatch batch) =>
            new(batch.Responses.Select(r => (float)(r.Length % 3)).ToArray(), new Dictionary<string, double>());
    }

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var config = new PpoConfig
        {
            Prompts = "bench", Iterations = options.Quick ? 1 : 2, RolloutBatch = 32, MiniBatch = 16, PpoEpochs = 2,
            MaxNewTokens = options.Quick ? 16 : 80, Lr = 5e-5, WarmupSteps = 0, LogEvery = 1000, CheckpointEvery = 1000,
        };
        torch.manual_seed(1);
        var policy = new Gpt(BenchModels.Default);
        torch.manual_seed(1);
        using var reference = new Gpt(BenchModels.Default);
        foreach (var p in reference.parameters()) p.requires_grad = false;
        using var model = new PolicyAndValue(policy, new ScalarHeadModel(new Gpt(BenchModels.Default)));
        var rng = new Random(1);
        var prompts = Enumerable.Range(0, 64)
            .Select(_ => Enumerable.Range(0, rng.Next(20, 31)).Select(_ => rng.Next(10, BenchModels.Vocab)).ToArray()).ToList();

        var settings = new SamplingSettings { MaxNewTokens = config.MaxNewTokens };
        var rates = new Dictionary<bool, double>();
        foreach (var cached in new[] { true, false })
        {
            var seconds = Timing.BestSeconds(cached ? options.Repeats(2) : 1,
                () => BatchedGenerator.Generate(policy, prompts.Take(config.RolloutBatch).ToList(), settings, [], 0, new torch.Generator(1), cached),
                warmup: cached ? 1 : 0);
            rates[cached] = config.RolloutBatch * config.MaxNewTokens / seconds;
            yield return new(Section, $"rollout generation {(cached ? "KV cache" : "re-forward")}", rates[cached], "tok/s",
                $"batch {config.RolloutBatch}, {config.MaxNewTokens} new tokens, sampled");
        }
        yield return new(Section, "rollout KV-cache speed-up", rates[true] / rates[false], "×", "KV cache tok/s ÷ re-forward tok/s");

        var dir = Directory.CreateTempSubdirectory("mlp-bench-ppo-").FullName;
        PpoIterationSummary last;
        double cpuPerIteration;
        try
        {
            using var objective = new PpoObjective(model, reference, prompts, new LengthReward(), config, seed: 1, [], 0, null);
            var cpu = CpuClock.Seconds();
            new Trainer(new TrainerOptions { StageDir = dir, StateDir = Path.Combine(dir, "state"), StageName = "bench-ppo", Seed = 1 })
                .TrainIterations(model, objective, config, config.Iterations);
            cpuPerIteration = (CpuClock.Seconds() - cpu) / config.Iterations;
            last = objective.Summaries[^1];
        }
        finally { Directory.Delete(dir, recursive: true); }

        var detail = $"iteration {last.Iteration + 1} of {config.Iterations}, {config.StepsPerIteration} optimizer steps";
        yield return new(Section, "iteration wall time", last.Metrics["iteration_seconds"], "s", detail);
        yield return new(Section, "iteration CPU time", cpuPerIteration, "CPU s",
            $"mean of the run's {config.Iterations} iterations, {config.StepsPerIteration} optimizer steps each, all threads");
        yield return new(Section, "rollout wall time", last.Metrics["rollout_seconds"], "s", "generate + 4 scoring forwards + GAE");
        yield return new(Section, "train tokens/s", last.Metrics["train_tokens_per_s"], "tok/s", "policy + value forward/backward");
    }
}
