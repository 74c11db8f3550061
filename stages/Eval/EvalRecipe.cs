using System.Diagnostics;
using System.Globalization;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Ppo;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Stages.Eval;

/// <summary>
/// The eval stage: measures every completed stage checkpoint of the pipeline on the same held-out data
/// with the same settings — validation perplexity, form compliance and mean form score of answers to
/// held-out prompts (ChatML prompts for every policy, one seed), the reward model's mean score of those
/// answers, the reward model's pairwise accuracy — and writes runs/&lt;pipeline&gt;/report.md, report.json
/// and the figures. A stage that never ran gets a "not run" row instead of failing the evaluation.
/// </summary>
public static class EvalRecipe
{
    /// <summary>The stages compared, in pipeline order.</summary>
    public static IReadOnlyList<string> EvaluatedStages => StageCatalog.Reported.Select(s => s.Name).ToList();

    /// <summary>Answers decoded together: 64 rows take about half the CPU time of 4 × 16 (measured on the Tang model).</summary>
    private const int GenerationBatch = 64;

    public static string ReportPath(PipelineSpec spec) => Path.Combine(RunFolders.PipelineDir(spec), PipelineReport.MarkdownFile);

    public static IReadOnlyDictionary<string, double> Run(StageContext<EvalConfig> context)
    {
        var (spec, config) = (context.Spec, context.Config);
        var data = new HeldOutData(
            ParquetDatasets.ReadPrompts(config.Prompts),
            config.ValData is null ? [] : ParquetDatasets.ReadText(config.ValData).ToList(),
            config.Preferences is null ? [] : ParquetDatasets.ReadPreferences(config.Preferences).ToList());
        var sampling = new SamplingSettings { MaxNewTokens = config.MaxNewTokens, Temperature = config.Temperature, TopP = config.TopP };

        WarnIfPpoTrainedOnEvalPrompts(context);

        var rewardDir = CompletedDir(spec, StageCatalog.RewardModel.Name);
        var rewardModel = rewardDir is null ? null : RewardModelScorer.Load(rewardDir, spec.Model, context.Device);
        // Every stage after SFT is compared with it: how far it moved for what it gained.
        var sftDir = CompletedDir(spec, StageCatalog.Sft.Name);
        using var sft = sftDir is null ? null : ModelCheckpoint.LoadGpt(sftDir, context.Device);
        sft?.eval();
        var rows = new List<StageReportRow>();
        try
        {
            foreach (var stage in EvaluatedStages.Where(spec.Defines))
            {
                var clock = Stopwatch.StartNew();
                var row = Evaluate(context, stage, data, sampling, rewardModel, AfterSft(stage) ? sft : null);
                rows.Add(row);
                context.Log(row.Ran
                    ? $"{stage}: {string.Join(", ", row.Metrics.Select(kv => $"{kv.Key} {kv.Value:G4}"))} ({clock.Elapsed.TotalSeconds:F1}s)"
                    : $"{stage}: {row.Status}");
            }
        }
        finally { rewardModel?.Model.Dispose(); }

        var settings = Settings(spec, config, data, sampling, rewardDir is not null);
        var ceiling = RhymeCeiling.Of(data.ValTexts);
        if (ceiling.Poems > 0)
            settings["rhyme ceiling"] = string.Create(CultureInfo.InvariantCulture,
                $"{ceiling.RhymeRate:P1} of the {ceiling.Poems:N0} regular-form poems of {config.ValData} rhyme by the same check (modern 十三辙 table, data/README.md)");
        var realRepetition = CharacterRepetition.OfRealPoems(data.ValTexts);
        if (realRepetition.Poems > 0)
            settings["repeated chars of real poems"] = string.Create(CultureInfo.InvariantCulture,
                $"{realRepetition.RepeatedShare:P1}: the mean share of repeated characters in the same {realRepetition.Poems:N0} poems");
        var report = new PipelineReport(spec.Name, settings, rows);
        var files = PipelineReportWriter.Write(context.PipelineDir, report);
        if (config.PublishDir is { } publishDir)
        {
            PipelineReportWriter.Publish(files, publishDir);
            context.Log($"published the report to {publishDir}");
        }
        var result = rows.SelectMany(r => r.Metrics.Select(kv => (Key: $"{r.Stage}.{kv.Key}", kv.Value)))
            .ToDictionary(m => m.Key, m => m.Value);
        if (ceiling.Poems > 0) result["rhyme_ceiling"] = ceiling.RhymeRate;
        if (realRepetition.Poems > 0) result["repeated_chars_real_poems"] = realRepetition.RepeatedShare;
        return result;
    }

    /// <summary>Stages after SFT in pipeline order: the ones a KL to SFT means something for.</summary>
    private static bool AfterSft(string stage) =>
        StageCatalog.All.ToList().FindIndex(s => s.Name == stage) > StageCatalog.All.ToList().IndexOf(StageCatalog.Sft);

    private static StageReportRow Evaluate(StageContext<EvalConfig> context, string stage, HeldOutData data,
        SamplingSettings sampling, RewardModelScorer? rewardModel, Gpt? sft)
    {
        var dir = RunFolders.StageDir(context.Spec, stage);
        var manifest = Manifest.TryRead(dir);
        if (manifest?.Status != StageStatus.Complete) return StageReportRow.Missing(stage, manifest?.Status ?? StageReportRow.NotRun);

        var metrics = new Dictionary<string, double>();
        if (StageCatalog.Find(stage)!.Output == StageOutput.RewardModel)
        {
            if (rewardModel is not null && data.Preferences.Count > 0)
                (metrics[EvalMetrics.RewardAccuracy], metrics[EvalMetrics.RewardMargin]) = rewardModel.PairwiseAccuracy(data.Preferences);
            return new StageReportRow(stage, StageStatus.Complete, metrics, []);
        }

        var config = context.Config;
        // Checked against the stage's own model block where it has one (a distillation student), else the pipeline's.
        var upstream = UpstreamModel.Load(dir, context.Spec.ModelOf(stage), context.Device);
        var generator = new TextGenerator(upstream.Model, upstream.Tokenizer, chat: true);
        try
        {
            if (data.ValTexts.Count > 0)
            {
                var ids = TokenizedCorpus.EncodeDocuments(generator.Tokenizer, data.ValTexts);
                metrics[EvalMetrics.ValPerplexity] = ValidationPerplexity.Compute(generator.Model, ids, config.ValWindows);
            }
            var form = FormComplianceEvaluator.Evaluate(generator, data.Prompts, config.Samples, context.Spec.Seed, sampling,
                batchSize: GenerationBatch);
            List<ReportSample> samples;
            if (form.Samples > 0)
            {
                metrics[EvalMetrics.FormCompliance] = form.ComplianceRate;
                metrics[EvalMetrics.FormScore] = form.MeanScore;
                metrics[EvalMetrics.RhymeRate] = form.RhymeRate;
                metrics[EvalMetrics.RepeatedChars] = form.RepeatedShare;
                if (sft is not null)
                    metrics[EvalMetrics.KlToSft] = KlToReference.PerToken(generator.Model, sft, generator.Tokenizer, form.Answers, sampling.Temperature);
                if (rewardModel is not null)
                    metrics[EvalMetrics.RewardScore] = rewardModel.Score(form.Answers.Select(a => (a.Prompt, a.Response)).ToList()).Average();
                samples = form.Answers.Take(config.ShowSamples).Select(a => new ReportSample(a.Prompt, a.Response, a.Verdict)).ToList();
            }
            else
            {
                // No prompt names a form: still show what the model writes.
                var prompts = data.Prompts.Take(config.ShowSamples).Select(p => p.Prompt).ToList();
                var responses = generator.Complete(prompts, sampling, new TorchSharp.torch.Generator((ulong)context.Spec.Seed), GenerationBatch);
                samples = prompts.Zip(responses, (p, r) => new ReportSample(p, r, null)).ToList();
            }
            return new StageReportRow(stage, StageStatus.Complete, metrics, samples);
        }
        finally { generator.Model.Dispose(); }
    }

    /// <summary>
    /// PPO leaves its first eval_samples form prompts of eval_prompts out of its rollouts; eval's prompts are only
    /// held out for PPO when they are among those.
    /// </summary>
    private static void WarnIfPpoTrainedOnEvalPrompts(StageContext<EvalConfig> context)
    {
        if (context.Spec.ConfigOf(StageCatalog.Ppo) is not { } ppo || ppo.Prompts != context.Config.Prompts) return;
        var heldOut = ppo.EvalPrompts == context.Config.Prompts ? ppo.EvalSamples : 0;
        if (context.Config.Samples > heldOut)
            context.Log($"warning: PPO trains on {ppo.Prompts} and holds out only its first {heldOut} form prompts; " +
                        $"eval.samples {context.Config.Samples} includes prompts PPO trained on (lower it to {heldOut})");
    }

    private static string? CompletedDir(PipelineSpec spec, string stage)
    {
        var dir = RunFolders.StageDir(spec, stage);
        return spec.Defines(stage) && Manifest.TryRead(dir)?.Status == StageStatus.Complete ? dir : null;
    }

    private static Dictionary<string, string> Settings(PipelineSpec spec, EvalConfig config, HeldOutData data, SamplingSettings sampling,
        bool rewardModel)
    {
        var formPrompts = FormComplianceEvaluator.FormPrompts(data.Prompts, config.Samples).Count;
        return new Dictionary<string, string>
        {
            ["seed"] = spec.Seed.ToString(CultureInfo.InvariantCulture),
            ["form prompts"] = $"{formPrompts} from {config.Prompts} (ChatML for every stage)",
            ["sampling"] = string.Create(CultureInfo.InvariantCulture,
                $"temperature {sampling.Temperature}, top-p {sampling.TopP}, ≤{sampling.MaxNewTokens} new tokens"),
            ["perplexity"] = config.ValData is null ? "no val_data"
                : $"{config.ValData}, windows of {spec.Model.MaxSeqLen} tokens" + (config.ValWindows > 0 ? $" (≤{config.ValWindows})" : ""),
            ["reward model"] = !rewardModel ? "none completed"
                : config.Preferences is null ? "no preferences" : $"accuracy on {data.Preferences.Count} pairs from {config.Preferences}",
        };
    }

    private sealed record HeldOutData(IReadOnlyList<PromptExample> Prompts, IReadOnlyList<string> ValTexts, IReadOnlyList<PreferenceExample> Preferences);
}
