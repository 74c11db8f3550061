using MiniLlmPipeline.Evaluation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tokenization;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Stages;

/// <summary>The distill stage on the tiny pipeline: a half-width student of the tiny sft model (pipelines/tiny.yaml).</summary>
public sealed class DistillStageTests
{
    private static Dictionary<string, double> Metrics(string stageDir) => Manifest.TryRead(stageDir)!.Metrics!.ToDictionary();

    private static void AssertFalls(SortedDictionary<int, double> series, string what) =>
        Assert.True(series.Values.Last() < series.Values.First(), $"{what} went {series.Values.First()} → {series.Values.Last()}");

    /// <summary>Bad input leaves a failed manifest and no checkpoint behind.</summary>
    private static void AssertNothingComplete(string stageDir)
    {
        Assert.NotEqual(StageStatus.Complete, Manifest.TryRead(stageDir)?.Status);
        Assert.False(File.Exists(Path.Combine(stageDir, ModelCheckpoint.WeightsFile)));
    }

    [Fact]
    public void Distill_TrainsTheHalfWidthStudent_ItsLossAndKlFall_EvalReportsIt_AndARerunIsUpToDate()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var result = TinyRuns.Run(StageCatalog.Distill, temp.Path);
        Assert.True(result.ExitCode == 0, result.ToString());
        var stageDir = Path.Combine(temp.Path, "distill");

        // A normal checkpoint of the student's own shape, with the tokenize stage's tokenizer (the teacher's).
        using var student = ModelCheckpoint.LoadGpt(stageDir, CPU);
        var teacher = ModelCheckpoint.ReadConfig(Path.Combine(temp.Path, "sft"));
        Assert.Equal(teacher with { DModel = 16, FfnHidden = 32 }, student.Config);
        foreach (var file in Directory.GetFiles(Path.Combine(temp.Path, "tokenize", TokenizedCorpus.TokenizerDir)))
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(stageDir, ModelCheckpoint.TokenizerFolder, Path.GetFileName(file))));
        var metrics = Metrics(stageDir);
        Assert.True(metrics["parameters"] < metrics["teacher_parameters"] / 2, $"{metrics["parameters"]} vs {metrics["teacher_parameters"]}");
        Assert.Equal(120, metrics["train_examples"]);

        // The mixed loss, its KL to the teacher (training batches, at τ) and validation KL at τ = 1 all fall.
        AssertFalls(MetricsSeries.Of(stageDir, "loss"), "loss");
        AssertFalls(MetricsSeries.Of(stageDir, "kl"), "kl");
        AssertFalls(MetricsSeries.Of(stageDir, "val_kl", kind: "eval"), "val_kl");
        Assert.True(metrics["val_kl"] > 0 && metrics["val_ppl"] > 1);

        // Eval reads the student against its own model block, next to its teacher.
        var eval = TinyRuns.Run(StageCatalog.Eval, temp.Path);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        var row = PipelineReportWriter.Read(temp.Path).Stages.Single(s => s.Stage == "distill");
        Assert.Equal(StageStatus.Complete, row.Status);
        Assert.InRange(row.Metrics[EvalMetrics.ValPerplexity], 1, 384);
        Assert.True(row.Metrics[EvalMetrics.KlToSft] > 0);

        StageAssert.UpToDate(TinyRuns.Run(StageCatalog.Distill, temp.Path));
    }

    [Fact]
    public void TheStudentWithTheTeacher_EndsCloserToItThanTheSameStudentWithout()
    {
        using var distilled = new TempDir();
        using var baseline = new TempDir();
        TinyRuns.CopyUpTo("sft", distilled.Path);
        TinyRuns.CopyUpTo("sft", baseline.Path);
        var withTeacher = TinyRuns.Run(StageCatalog.Distill, distilled.Path);
        var without = TinyRuns.Run(StageCatalog.Distill, baseline.Path, "--set", "distill.alpha=0");
        Assert.True(withTeacher.ExitCode == 0, withTeacher.ToString());
        Assert.True(without.ExitCode == 0, without.ToString());
        Assert.Contains("no teacher: the baseline", without.StdErr);

        var (distilledDir, baselineDir) = (Path.Combine(distilled.Path, "distill"), Path.Combine(baseline.Path, "distill"));
        // α 0 never consults the teacher in training (no soft term logged); both are measured against it on validation.
        Assert.Empty(MetricsSeries.Of(baselineDir, "kl"));
        AssertFalls(MetricsSeries.Of(baselineDir, "loss"), "baseline loss");
        Assert.True(Metrics(distilledDir)["val_kl"] < Metrics(baselineDir)["val_kl"],
            $"val_kl with the teacher {Metrics(distilledDir)["val_kl"]}, without {Metrics(baselineDir)["val_kl"]}");
    }

    [Fact]
    public void Distill_OnPretrainingText_TrainsOnTheTokenizeStagesCorpus()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var result = TinyRuns.Run(StageCatalog.Distill, temp.Path,
            "--set", "distill.dataset=text", "--set", "distill.data=null", "--set", "distill.val_data=null");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("training windows of text", result.StdErr);
        var stageDir = Path.Combine(temp.Path, "distill");
        AssertFalls(MetricsSeries.Of(stageDir, "loss"), "loss");
        var metrics = Metrics(stageDir);
        Assert.True(metrics["val_loss"] > 0 && metrics["val_kl"] > 0);
        Assert.False(metrics.ContainsKey("train_examples"));
    }

    [Fact]
    public void ATeacherOfAnotherVocabulary_IsRejectedNamingTheSpecKey()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        // The student's tokenizer is retrained at another size; the sft teacher still speaks the old one.
        var tokenize = TinyRuns.Run(StageCatalog.Tokenize, temp.Path, "--set", "tokenize.vocab_size=320", "--force");
        Assert.True(tokenize.ExitCode == 0, tokenize.ToString());

        var result = TinyRuns.Run(StageCatalog.Distill, temp.Path);

        StageAssert.FailedClearly(result, $"{TinyRuns.Spec}: stages.distill.teacher: the teacher 'sft' has a vocabulary of", "but the student's tokenizer from 'tokenize' has");
        AssertNothingComplete(Path.Combine(temp.Path, "distill"));
    }

    [Fact]
    public void ATeacherWhoseTokenizerDiffersAtTheSameSize_IsRejected()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        File.AppendAllText(Path.Combine(temp.Path, "tokenize", TokenizedCorpus.TokenizerDir, "merges.txt"), "\n");

        var result = TinyRuns.Run(StageCatalog.Distill, temp.Path);

        StageAssert.FailedClearly(result, $"{TinyRuns.Spec}: stages.distill.teacher: the teacher 'sft''s tokenizer", "differs from the student's");
        AssertNothingComplete(Path.Combine(temp.Path, "distill"));
    }

    [Fact]
    public void ATeacherThatNeverRan_FailsNamingTheSpecKey()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("pretrain", temp.Path);
        var result = TinyRuns.Run(StageCatalog.Distill, temp.Path);
        StageAssert.FailedClearly(result, $"{TinyRuns.Spec}: stages.distill.teacher: stage 'distill' needs the checkpoint of stage 'sft'");
        Assert.False(File.Exists(Path.Combine(temp.Path, "distill", ModelCheckpoint.WeightsFile)));
    }

    [Fact]
    public void AStudentContextLongerThanTheTeachers_IsRejected()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var result = TinyRuns.Run(StageCatalog.Distill, temp.Path, "--set", "distill.model.max_seq_len=256");
        StageAssert.FailedClearly(result, $"{TinyRuns.Spec}: stages.distill.model.max_seq_len: the student's 256 is longer than the teacher's 192");
        AssertNothingComplete(Path.Combine(temp.Path, "distill"));
    }

    [Theory]
    [InlineData("distill.temperature=0", "stages.distill.temperature: must be a positive number")]
    [InlineData("distill.temperature=nan", "stages.distill.temperature: expected a number, got 'nan'")]
    [InlineData("distill.alpha=1.5", "stages.distill.alpha: must be in [0, 1]")]
    [InlineData("distill.teacher=nonesuch", "stages.distill.teacher: 'nonesuch' cannot be used here")]
    public void BadSettings_FailBeforeAnythingIsWritten(string set, string says)
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var result = TinyRuns.Run(StageCatalog.Distill, temp.Path, "--set", set);
        StageAssert.FailedClearly(result, TinyRuns.Spec, says);
        Assert.False(Directory.Exists(Path.Combine(temp.Path, "distill")));
    }
}
