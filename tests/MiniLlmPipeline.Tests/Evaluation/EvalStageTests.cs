using MiniLlmPipeline.Stages.Eval;
using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tests.Model;
using MiniLlmPipeline.Tokenization;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Evaluation;

/// <summary>
/// The eval stage in-process over hand-made checkpoints (random tiny models, byte-level tokenizer), so
/// it is fast and independent of the training stages: pretrain, sft and reward_model complete, dpo
/// never ran, ppo failed.
/// </summary>
public sealed class EvalStageTests
{
    private static readonly StageProgram<EvalConfig> EvalProgram = new(StageCatalog.Eval) { Description = "eval", Execute = EvalRecipe.Run };

    private static string Tiny(string file) => RepoPaths.Under("data", "tiny", file);

    private static string WriteSpec(TempDir temp, string extraEval = "") => temp.Write("p.yaml", $"""
        name: evaltest
        run_dir: {temp.File("runs")}
        seed: 7
        device: cpu
        model: {"{"} d_model: 32, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 64, max_seq_len: 64 {"}"}
        stages:
          tokenize: {"{"} data: {Tiny("pretrain.parquet")} {"}"}
          pretrain: {"{"} steps: 1 {"}"}
          sft: {"{"} data: {Tiny("sft.parquet")} {"}"}
          reward_model: {"{"} data: {Tiny("preferences.parquet")} {"}"}
          dpo: {"{"} data: {Tiny("preferences.parquet")} {"}"}
          ppo: {"{"} prompts: {Tiny("prompts.parquet")} {"}"}
          eval:
            prompts: {Tiny("prompts.parquet")}
            val_data: {Tiny("pretrain_val.parquet")}
            preferences: {Tiny("preferences_val.parquet")}
            samples: 3
            max_new_tokens: 12
            val_windows: 4
        {extraEval}
        """);

    private static void FakeCheckpoint(string runDir, string stage, int seed, bool scalarHead, string status = StageStatus.Complete)
    {
        var dir = Directory.CreateDirectory(Path.Combine(runDir, stage)).FullName;
        if (status == StageStatus.Complete)
        {
            var tokenizerDir = Path.Combine(runDir, "tokenizer-src");
            BpeModel.BytesOnly().Save(tokenizerDir);
            torch.manual_seed(seed);
            var config = TinyModels.Config with { VocabSize = BpeModel.BytesOnly().VocabSize, MaxSeqLen = 64 };
            using var gpt = new Gpt(config);
            using var head = scalarHead ? new ScalarHeadModel(gpt) : null;
            ModelCheckpoint.Save(dir, head is null ? gpt : head, tokenizerDir);
        }
        new Manifest
        {
            Stage = stage, Pipeline = "evaltest", Status = status, SpecHash = "fake",
            Inputs = new Dictionary<string, string>(), OutputHash = $"{stage}-{seed}",
        }.Write(dir);
    }

    private static string FakePipeline(TempDir temp)
    {
        var runs = temp.File("runs");
        FakeCheckpoint(runs, StageCatalog.Pretrain.Name, 1, scalarHead: false);
        FakeCheckpoint(runs, StageCatalog.Sft.Name, 2, scalarHead: false);
        FakeCheckpoint(runs, StageCatalog.RewardModel.Name, 3, scalarHead: true);
        FakeCheckpoint(runs, StageCatalog.Ppo.Name, 4, scalarHead: false, status: StageStatus.Failed);
        return runs;
    }

    [Fact]
    public void Eval_ReportsEveryCompletedStage_AndMarksTheOthers()
    {
        using var temp = new TempDir();
        var runs = FakePipeline(temp);

        Assert.Equal(StageCli.ExitOk, StageCli.Run(["--pipeline", WriteSpec(temp)], EvalProgram));

        var report = PipelineReportWriter.Read(runs);
        Assert.Equal(["pretrain", "sft", "reward_model", "dpo", "ppo"], report.Stages.Select(s => s.Stage));
        Assert.Equal([StageStatus.Complete, StageStatus.Complete, StageStatus.Complete, StageReportRow.NotRun, StageStatus.Failed],
            report.Stages.Select(s => s.Status));
        foreach (var policy in report.Stages.Take(2))
        {
            // A random model over 260 tokens is about as perplexed as uniform guessing.
            Assert.InRange(policy.Metrics[EvalMetrics.ValPerplexity], 100, 1000);
            Assert.InRange(policy.Metrics[EvalMetrics.FormCompliance], 0, 1);
            Assert.InRange(policy.Metrics[EvalMetrics.FormScore], 0, 1);
            Assert.True(double.IsFinite(policy.Metrics[EvalMetrics.RewardScore]));
            Assert.Equal(3, policy.Samples.Count);
        }
        Assert.InRange(report.Stages[2].Metrics[EvalMetrics.RewardAccuracy], 0, 1);
        Assert.Empty(report.Stages[3].Metrics);
        Assert.True(File.Exists(Path.Combine(runs, PipelineReport.MarkdownFile)));
        Assert.True(File.Exists(Path.Combine(runs, PipelinePlots.ComplianceFile)));
        var manifest = Manifest.TryRead(Path.Combine(runs, StageCatalog.Eval.Name))!;
        Assert.Equal(StageStatus.Complete, manifest.Status);
        Assert.Equal(StageCli.NotRun, manifest.Inputs["stage:dpo"]);
        Assert.Equal("sft-2", manifest.Inputs["stage:sft"]);
    }

    [Fact]
    public void Eval_IsDeterministicForAFixedSeed()
    {
        using var temp = new TempDir();
        var runs = FakePipeline(temp);
        var spec = WriteSpec(temp);

        Assert.Equal(StageCli.ExitOk, StageCli.Run(["--pipeline", spec], EvalProgram));
        var first = File.ReadAllText(Path.Combine(runs, PipelineReport.JsonFile));
        Assert.Equal(StageCli.ExitOk, StageCli.Run(["--pipeline", spec, "--force"], EvalProgram));
        var second = File.ReadAllText(Path.Combine(runs, PipelineReport.JsonFile));

        Assert.Equal(first, second);
    }

    [Fact]
    public void Eval_OfACheckpointWhoseShapeDiffersFromTheSpec_IsABadInputError()
    {
        using var temp = new TempDir();
        FakePipeline(temp);

        var code = StageCli.Run(["--pipeline", WriteSpec(temp), "--set", "model.ffn_hidden=96"], EvalProgram);

        Assert.Equal(StageCli.ExitBadInput, code);
        Assert.False(File.Exists(temp.File(Path.Combine("runs", PipelineReport.JsonFile))));
    }

    [Fact]
    public void Eval_WithNoCompletedStage_StillWritesAReport_AndPublishesIt()
    {
        using var temp = new TempDir();
        var publish = temp.File("published");
        var spec = WriteSpec(temp, $"    publish_dir: {publish}");

        Assert.Equal(StageCli.ExitOk, StageCli.Run(["--pipeline", spec], EvalProgram));

        var report = PipelineReportWriter.Read(temp.File("runs"));
        Assert.All(report.Stages, s => Assert.Equal(StageReportRow.NotRun, s.Status));
        Assert.Contains("| pretrain | not run |", File.ReadAllText(Path.Combine(publish, PipelineReport.MarkdownFile)));
    }
}
