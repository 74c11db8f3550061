using System.Text.Json;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Stages;

/// <summary>The shared training keys (lora, early_stopping, keep) end to end on the tiny pipeline.</summary>
public sealed class TrainingFeaturesStageTests
{
    private static Dictionary<string, double> Metrics(string stageDir) => Manifest.TryRead(stageDir)!.Metrics!.ToDictionary();

    [Fact]
    public void Sft_OnAnOverfittingConfig_StopsEarly_AndKeepsTheBestStep()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("pretrain", temp.Path);
        // Fifteen times the usual steps at a constant rate 50 times the usual: validation stops improving long before the
        // end. At 3e-2 it still improved for 300 steps on an AVX2 machine (the kernels round differently), so 1e-1.
        var result = TinyRuns.Run(StageCatalog.Sft, temp.Path, "--set", "sft.steps=300", "--set", "sft.lr=1e-1", "--set", "sft.lr_schedule=constant",
            "--set", "sft.warmup_steps=0", "--set", "sft.eval_every=10", "--set", "sft.early_stopping.patience=2", "--set", "sft.keep=best",
            "--set", "sft.eval_samples=0", "--set", "sft.checkpoint_every=1000");
        Assert.True(result.ExitCode == 0, result.ToString());
        var stageDir = Path.Combine(temp.Path, "sft");
        var metrics = Metrics(stageDir);

        var stoppedAt = (int)metrics["early_stopped_at"];
        Assert.InRange(stoppedAt, 20, 290);
        Assert.Equal(stoppedAt, metrics["steps"]);
        var evals = MetricsSeries.Of(stageDir, "val_loss", kind: "eval");
        Assert.Equal(stoppedAt, evals.Keys.Max());
        // The kept step is the evaluation with the lowest loss, the two after it no better, and the manifest reports it.
        var best = evals.MinBy(kv => kv.Value);
        Assert.Equal(best.Key, metrics["best_step"]);
        Assert.Equal(best.Key, metrics["kept_step"]);
        Assert.Equal(stoppedAt - 20, best.Key);
        // metrics.jsonl rounds what it logs.
        Assert.Equal(best.Value, metrics["val_loss"], 5);
        Assert.Contains("early stop after step", result.StdErr);
    }

    [Fact]
    public void LoraSft_WritesTheMergedCheckpointAndAPeftAdapter_ThatALoraDpoContinuesFrom()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("pretrain", temp.Path);
        string[] lora = ["--set", "sft.lora.rank=4", "--set", "sft.eval_samples=0", "--set", "dpo.lora.rank=2", "--set", "dpo.lora.targets=[q_proj,v_proj]",
            "--set", "dpo.eval_samples=0", "--set", "dpo.steps=4"];
        var sft = TinyRuns.Run(StageCatalog.Sft, temp.Path, lora);
        Assert.True(sft.ExitCode == 0, sft.ToString());
        Assert.Contains("LoRA rank 4", sft.StdErr);
        var sftDir = Path.Combine(temp.Path, "sft");
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(sftDir, PeftAdapterFiles.ConfigFile))))
            Assert.Equal(4, config.RootElement.GetProperty("r").GetInt32());

        // Only the adapters trained: the merged checkpoint differs from pretrain by exactly (α/r)·B·A on each projection.
        var pretrained = Safetensors.Load(Path.Combine(temp.Path, "pretrain", ModelCheckpoint.WeightsFile));
        var merged = Safetensors.Load(Path.Combine(sftDir, ModelCheckpoint.WeightsFile));
        var adapter = Safetensors.Load(Path.Combine(sftDir, PeftAdapterFiles.WeightsFile));
        Assert.Equal(pretrained.Keys.Order(), merged.Keys.Order());
        foreach (var (name, weight) in merged)
        {
            var prefix = "base_model.model." + name[..^".weight".Length];
            var expected = adapter.TryGetValue(prefix + ".lora_A.weight", out var a)
                ? pretrained[name] + matmul(adapter[prefix + ".lora_B.weight"], a) * (16.0 / 4)
                : pretrained[name];
            Assert.True(weight.allclose(expected, rtol: 1e-5, atol: 1e-6), name);
        }

        var dpo = TinyRuns.Run(StageCatalog.Dpo, temp.Path, lora);
        Assert.True(dpo.ExitCode == 0, dpo.ToString());
        using var model = ModelCheckpoint.LoadGpt(Path.Combine(temp.Path, "dpo"), CPU);
        var targets = Safetensors.Load(Path.Combine(temp.Path, "dpo", PeftAdapterFiles.WeightsFile)).Keys
            .Select(k => k.Split('.')[^3]).Distinct().Order();
        Assert.Equal(["q_proj", "v_proj"], targets);
    }

    [Fact]
    public void KeepBest_WithoutValidationData_IsAConfigErrorNamingTheKey()
    {
        using var temp = new TempDir();
        var result = TinyRuns.Run(StageCatalog.Sft, temp.Path, "--set", "sft.keep=best", "--set", "sft.val_data=null");
        StageAssert.FailedClearly(result, "pipelines/tiny.yaml", "stages.sft.keep", "needs validation data");
    }
}
