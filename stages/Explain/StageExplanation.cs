using System.Diagnostics;
using System.Text.Json;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Explain;

/// <summary>
/// Everything the page shows about one stage's checkpoint: the explained sequence (prompt + greedy answer) with every
/// layer's attention weights and the next-token distributions along the answer, the sampling comparison on held-out
/// prompts, the model's anatomy and embedding projection, and the stage's training curves and report row.
/// </summary>
internal sealed record StageExplanation(
    string Stage,
    string Prompt,
    GptConfig Config,
    IReadOnlyList<string> Tokens,
    int AnswerStart,
    IReadOnlyList<float[]> Attention,
    IReadOnlyList<NextTokenView> NextTokens,
    IReadOnlyList<StrategyResult> Strategies,
    IReadOnlyList<ModuleRow> Modules,
    IReadOnlyList<(string Character, double X, double Y)> Projection,
    double ProjectionVariance,
    IReadOnlyList<MetricSeries> Training,
    IReadOnlyDictionary<string, double>? ReportMetrics,
    int PromptCount,
    double Seconds)
{
    public static StageExplanation Compute(PipelineSpec spec, string stage, ExplainOptions options, IReadOnlyList<PromptExample> prompts,
        IReadOnlyList<string> projectionText)
    {
        var clock = Stopwatch.StartNew();
        var dir = RunFolders.CompletedStageDir(spec, stage, "explain");
        var generator = TextGenerator.Load(dir, DeviceSelector.Resolve(spec.Device), chat: stage != StageCatalog.Pretrain.Name);
        using var model = generator.Model;
        using var inference = InferenceMode.Enter(model);
        var formPrompts = FormComplianceEvaluator.FormPrompts(prompts, options.Samples);
        var prompt = options.Prompt ?? formPrompts.FirstOrDefault()?.Prompt ?? prompts[0].Prompt;

        var (tokens, answerStart, attention, nextTokens) = ExplainSequence(generator, prompt, options);
        var strategies = SamplingStrategy.All(options.MaxNewTokens).Select(s => Measure(generator, s, formPrompts, options.Seed)).ToList();
        var (projection, variance) = Project(generator, projectionText);
        return new StageExplanation(stage, prompt, model.Config, tokens, answerStart, attention, nextTokens, strategies,
            ParameterRows(model), projection, variance, TrainingSeries(dir), ReportRow(spec, stage), formPrompts.Count, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// A token as an axis label: special tokens by name, a line break as ⏎, and a byte-level piece that is not whole
    /// UTF-8 on its own (part of a rare character) by its id.
    /// </summary>
    private static string Label(TextGenerator generator, int id) =>
        generator.Tokenizer.Decode([id]) is var text && text.Contains('\uFFFD') ? $"#{id}" : text.Replace("\n", "⏎").Replace(" ", "␣");

    private static (List<string> Tokens, int AnswerStart, List<float[]> Attention, List<NextTokenView> Next) ExplainSequence(
        TextGenerator generator, string prompt, ExplainOptions options)
    {
        using var scope = torch.NewDisposeScope();
        var tokenizer = generator.Tokenizer;
        var promptIds = generator.EncodePrompt(prompt);
        int[] stopIds = generator.Chat ? [tokenizer.ImEndId, tokenizer.EndOfTextId] : [tokenizer.EndOfTextId];
        var answer = BatchedGenerator.Generate(generator.Model, [promptIds], new SamplingSettings { Greedy = true, MaxNewTokens = options.MaxNewTokens },
            stopIds, tokenizer.PadId, rng: null)[0];
        // Cut from the front: the answer and the end of the prompt are what the heat-maps are for.
        int[] sequence = [.. promptIds, .. answer];
        var limit = Math.Min(ExplainOptions.MaxExplainedTokens, generator.Model.Config.MaxSeqLen);
        if (sequence.Length > limit) sequence = sequence[^limit..];
        var answerStart = Math.Max(1, sequence.Length - answer.Length);

        var device = generator.Model.parameters().First().device;
        using var fp32 = MixedPrecision.Suspend();
        using var recording = AttentionRecording.Run(generator.Model, torch.tensor(sequence.Select(i => (long)i).ToArray(), [1, sequence.Length], device: device));
        var attention = recording.Weights.Select(w => w[0].cpu().to(float32).contiguous().data<float>().ToArray()).ToList(); // (H, T, T) each

        // The distribution at position i predicts token i + 1: the answer's tokens are predicted from answerStart − 1 on.
        var probs = generator.Model.Logits(recording.Hidden[0]).softmax(-1);                  // (T, V)
        var entropy = -(probs * probs.clamp_min(1e-30).log()).sum(-1);                        // (T)
        var (topP, topI) = probs.topk(ExplainOptions.Candidates, dim: -1);
        var (p, e, tp, ti) = (probs.cpu(), entropy.cpu().data<float>().ToArray(), topP.cpu().data<float>().ToArray(), topI.cpu().data<long>().ToArray());
        var next = new List<NextTokenView>();
        for (var i = answerStart - 1; i < sequence.Length - 1; i++)
        {
            var top = Enumerable.Range(0, ExplainOptions.Candidates)
                .Select(j => (Label(generator, (int)ti[i * ExplainOptions.Candidates + j]), (double)tp[i * ExplainOptions.Candidates + j])).ToList();
            next.Add(new NextTokenView(Label(generator, sequence[i + 1]), p[i, sequence[i + 1]].item<float>(), e[i], top));
        }
        return (sequence.Select(id => Label(generator, id)).ToList(), answerStart, attention, next);
    }

    private static StrategyResult Measure(TextGenerator generator, SamplingStrategy strategy, IReadOnlyList<PromptExample> prompts, int seed)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<string> responses;
        if (strategy.BeamWidth > 0)
        {
            var tokenizer = generator.Tokenizer;
            int[] stopIds = generator.Chat ? [tokenizer.ImEndId, tokenizer.EndOfTextId] : [tokenizer.EndOfTextId];
            responses = prompts.Select(p => BeamSearch.Search(generator.Model, generator.EncodePrompt(p.Prompt), strategy.BeamWidth,
                    strategy.Settings.MaxNewTokens, stopIds).Tokens)
                .Select(ids => tokenizer.Decode(ids.Where(id => !stopIds.Contains(id))).Trim()).ToList();
        }
        else responses = generator.Complete(prompts.Select(p => p.Prompt).ToList(), strategy.Settings, new torch.Generator((ulong)seed));
        var checks = prompts.Zip(responses, (p, r) => PoetryFormChecker.Check(p.Get(FormComplianceEvaluator.FormColumn)!, r)).ToList();
        var answers = prompts.Zip(responses, checks).Select(x => (x.First.Prompt, x.Second,
            $"{(x.Third.Compliant ? "ok" : "x")} {x.Third.Score:F2}{(x.Third.Rhymes ? ", rhymes" : "")}")).ToList();
        double Rate(Func<FormCheck, bool> f) => checks.Count == 0 ? 0 : checks.Average(c => f(c) ? 1.0 : 0.0);
        return new StrategyResult(strategy, Rate(c => c.Compliant), Rate(c => c.Rhymes), AnswerStatistics.Distinct2(responses),
            AnswerStatistics.RepeatedVerseRate(responses), AnswerStatistics.MeanLength(responses), clock.Elapsed.TotalSeconds, answers);
    }

    private static List<ModuleRow> ParameterRows(Gpt model) =>
        model.named_parameters().Select(p => new ModuleRow(p.name, p.parameter.shape, p.parameter.numel(), p.name switch
        {
            var n when n.Contains("embed_tokens") || n.StartsWith("lm_head", StringComparison.Ordinal) => "embedding",
            var n when n.Contains("self_attn") => "attention",
            var n when n.Contains(".mlp.") => "MLP",
            _ => "norm",
        })).ToList();

    /// <summary>
    /// The embeddings of the most frequent single-token Han characters of <paramref name="text"/>, centred and projected
    /// on their first two principal components (from the SVD of the centred matrix), and the share of variance they keep.
    /// </summary>
    private static (List<(string, double, double)>, double) Project(TextGenerator generator, IReadOnlyList<string> text)
    {
        using var scope = torch.NewDisposeScope();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in text)
            foreach (var rune in line.EnumerateRunes().Where(Verse.IsHan))
                counts[rune.ToString()] = counts.GetValueOrDefault(rune.ToString()) + 1;
        var chosen = counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => (Character: c.Key, Ids: generator.Tokenizer.Encode(c.Key))).Where(c => c.Ids.Count == 1)
            .Take(ExplainOptions.ProjectedCharacters).ToList();
        if (chosen.Count < 3) return ([], 0);
        var embedding = generator.Model.named_parameters().First(p => p.name == "model.embed_tokens.weight").parameter.detach().cpu();
        var rows = embedding.index_select(0, torch.tensor(chosen.Select(c => (long)c.Ids[0]).ToArray()));
        var centred = rows - rows.mean([0], keepdim: true);                          // (K, C)
        var (u, s, _) = torch.linalg.svd(centred, fullMatrices: false);
        var coordinates = (u.narrow(1, 0, 2) * s.narrow(0, 0, 2)).data<float>().ToArray(); // (K, 2)
        var squares = s.square();
        var variance = (squares.narrow(0, 0, 2).sum() / squares.sum()).item<float>();
        return (chosen.Select((c, i) => (c.Character, (double)coordinates[2 * i], (double)coordinates[2 * i + 1])).ToList(), variance);
    }

    /// <summary>The stage's losses, rewards and KLs from metrics.jsonl: every numeric series whose key names one of them.</summary>
    private static List<MetricSeries> TrainingSeries(string stageDir)
    {
        var records = MetricsLog.Read(Path.Combine(stageDir, "metrics.jsonl"));
        string[] wanted = ["loss", "reward", "kl", "compliance", "accuracy"];
        var series = records
            .Where(r => r.ContainsKey("kind"))
            .SelectMany(r => r.Where(kv => kv.Value.ValueKind == JsonValueKind.Number && kv.Key != "step" && wanted.Any(w => kv.Key.Contains(w)))
                .Select(kv => (Kind: r["kind"].GetString()!, kv.Key)))
            .Distinct().ToList();
        return series.Select(s => (s, Points: MetricsPlot.Points(records, s.Kind, s.Key)))
            .Where(x => x.Points.Steps.Length > 0)
            .Select(x => new MetricSeries(x.s.Kind, x.s.Key, x.Points.Steps, x.Points.Values)).ToList();
    }

    /// <summary>The stage's row of the eval stage's report.json, when eval has run and the stage has a row.</summary>
    private static IReadOnlyDictionary<string, double>? ReportRow(PipelineSpec spec, string stage)
    {
        var dir = RunFolders.PipelineDir(spec);
        if (!File.Exists(Path.Combine(dir, PipelineReport.JsonFile))) return null;
        return PipelineReportWriter.Read(dir).Stages.FirstOrDefault(r => r.Stage == stage && r.Ran)?.Metrics;
    }

    /// <summary>The parameters of <paramref name="part"/> (embedding, attention, MLP, norm).</summary>
    public long PartParameters(string part) => Modules.Where(m => m.Part == part).Sum(m => m.Parameters);

    public long ParameterCount => Modules.Sum(m => m.Parameters);

}
