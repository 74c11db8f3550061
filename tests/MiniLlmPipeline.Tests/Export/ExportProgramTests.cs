using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Export;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Export;

/// <summary>
/// The export program on the tiny pipeline: it writes both formats from a completed stage, nothing on bad input, and
/// SFT runs from the exported Hugging Face folder (<c>from: hf:</c>) as from a stage.
/// </summary>
public sealed class ExportProgramTests
{
    private static StageProcess.Result Export(string runDir, params string[] args) =>
        StageProcess.RunProgram("Export", "export", ["--pipeline", TinyRuns.Spec, "--set", $"run_dir={runDir}", .. args]);

    [Fact]
    public void BadInput_ExitsOne_WithOneSentence_AndWritesNothing()
    {
        using var dir = new TempDir();
        var neverRan = Export(dir.Path, "--from", "sft");
        Assert.Equal(StageCli.ExitBadInput, neverRan.ExitCode);
        Assert.Contains("stage 'export' needs the checkpoint of stage 'sft'", neverRan.StdErr);
        var format = Export(dir.Path, "--from", "sft", "--format", "onnx");
        Assert.Equal(StageCli.ExitBadInput, format.ExitCode);
        Assert.Contains("--format: unknown export format 'onnx' (gguf | hf)", format.StdErr);
        var quant = Export(dir.Path, "--from", "sft", "--quant", "q4_k");
        Assert.Equal(StageCli.ExitBadInput, quant.ExitCode);
        Assert.Contains("--quant: unknown quantization 'q4_k' (f32 | f16 | q8_0)", quant.StdErr);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "export")));
    }

    [Fact]
    public void ExportsBothFormats_AndSftStartsFromTheHfFolder()
    {
        using var dir = new TempDir();
        TinyRuns.CopyUpTo(StageCatalog.Pretrain.Name, dir.Path);
        var gguf = Export(dir.Path, "--from", "pretrain", "--quant", "q8_0");
        Assert.True(gguf.ExitCode == 0, gguf.ToString());
        var exportDir = Path.Combine(dir.Path, "export", "pretrain");
        Assert.True(File.Exists(Path.Combine(exportDir, Exporter.GgufFileName("tiny-pretrain", ExportQuant.Q8_0))));
        var hf = Export(dir.Path, "--from", "pretrain", "--format", "hf");
        Assert.True(hf.ExitCode == 0, hf.ToString());
        Assert.Empty(Directory.GetFileSystemEntries(exportDir, "*tmp*"));

        var hfDir = Path.Combine(exportDir, Exporter.HfFolder);
        var sft = TinyRuns.Run(StageCatalog.Sft, dir.Path, "--set", $"sft.from={HfModelFolder.Prefix}{hfDir}");
        Assert.True(sft.ExitCode == 0, sft.ToString());
        // SFT ran from the folder and left a normal (tied) checkpoint that loads.
        using var model = ModelCheckpoint.LoadGpt(Path.Combine(dir.Path, StageCatalog.Sft.Name), torch.CPU);
        Assert.True(model.Config.TieWordEmbeddings);
    }
}
