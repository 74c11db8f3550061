using MiniLlmPipeline.Data;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tokenization;
using Parquet;

namespace MiniLlmPipeline.Tests.Reliability;

/// <summary>
/// Bad input given to real stage programs: each gets one sentence on stderr naming the file and the field,
/// exit code 1, no stack trace, and nothing left behind that looks like a valid result.
/// </summary>
public sealed class BadInputTests
{
    [Fact]
    public void CorpusWithoutTheTextColumn_NamesFileAndColumn()
    {
        using var temp = new TempDir();
        var data = temp.File("corpus.parquet");
        ParquetDatasets.WriteStrings(data, [("body", ["床前明月光"])]);
        AssertRejected(Tokenize(temp, data), temp, "tokenize", data, "missing column 'text'");
    }

    [Fact]
    public void CorpusThatIsNotParquet_IsRejected()
    {
        using var temp = new TempDir();
        var data = temp.Write("corpus.parquet", "text\n床前明月光\n");
        AssertRejected(Tokenize(temp, data), temp, "tokenize", data, "not a readable Parquet file");
    }

    [Fact]
    public void EmptyCorpus_IsRejected()
    {
        using var temp = new TempDir();
        var data = temp.File("corpus.parquet");
        WriteNullable(data, []);
        AssertRejected(Tokenize(temp, data), temp, "tokenize", data, "empty");
    }

    [Fact]
    public void CorpusWithANullText_NamesTheRow()
    {
        using var temp = new TempDir();
        var data = temp.File("corpus.parquet");
        WriteNullable(data, ["床前明月光", null]);
        AssertRejected(Tokenize(temp, data), temp, "tokenize", data, "row 1: column 'text' is null");
    }

    [Fact]
    public void MissingDataFile_NamesTheSpecKey()
    {
        using var temp = new TempDir();
        var result = Tokenize(temp, temp.File("nowhere.parquet"));
        AssertRejected(result, temp, "tokenize", "stages.tokenize.data", "not found");
        Assert.Contains("nowhere.parquet", result.StdErr);   // and the file it looked for
    }

    [Fact]
    public void MalformedSpec_NamesFileAndLine()
    {
        using var temp = new TempDir();
        var spec = temp.Write("bad.yaml", "name: bad\nstages:\n  tokenize: { data: [unclosed\n");
        var result = StageProcess.Run(StageCatalog.Tokenize, "--pipeline", spec);
        StageAssert.FailedClearly(result, $"{spec}:", "malformed YAML");
    }

    [Fact]
    public void OverrideOfAnUnknownKey_NamesTheKey()
    {
        using var temp = new TempDir();
        var result = TinyRuns.Run(StageCatalog.Tokenize, temp.Path, "--set", "tokenize.vocab_sise=500");
        AssertRejected(result, temp, "tokenize", "vocab_sise", "");
    }

    [Fact]
    public void UnwritableRunFolder_IsAClearError()
    {
        using var temp = new TempDir();
        var blocker = temp.Write("a-file", "not a folder");
        var result = TinyRuns.Run(StageCatalog.Tokenize, Path.Combine(blocker, "run"));
        StageAssert.FailedClearly(result, "cannot read or write");
    }

    [Fact]
    public void TokenFileOfAnotherVocabulary_IsRejectedByPretraining()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("tokenize", temp.Path);
        var trainBin = Path.Combine(temp.Path, "tokenize", TokenizedCorpus.TrainFile);
        TokenFile.Write(trainBin, Enumerable.Range(0, 500).ToArray(), vocabSize: 512);
        AssertRejected(TinyRuns.Run(StageCatalog.Pretrain, temp.Path), temp, "pretrain", trainBin, "vocabulary size 512");
    }

    private static StageProcess.Result Tokenize(TempDir temp, string data) =>
        TinyRuns.Run(StageCatalog.Tokenize, temp.Path, "--set", $"tokenize.data={data}", "--set", "tokenize.val_data=null");

    private static void AssertRejected(StageProcess.Result result, TempDir temp, string stage, string names, string says)
    {
        StageAssert.FailedClearly(result, names, says);
        Assert.Single(result.StdErr.Trim().Split('\n'), line => line.Contains("error:"));
        // Nothing left that a downstream stage would take for a finished result.
        var stageDir = Path.Combine(temp.Path, stage);
        Assert.NotEqual(StageStatus.Complete, Manifest.TryRead(stageDir)?.Status);
        Assert.False(File.Exists(Path.Combine(stageDir, "model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(stageDir, TokenizedCorpus.TokenizerDir)));
    }

    private static void WriteNullable(string path, string?[] texts) =>
        Data.ParquetDatasetsTests.WriteStringsAsync(path, new ParquetOptions(), 100, ("text", texts)).GetAwaiter().GetResult();
}
