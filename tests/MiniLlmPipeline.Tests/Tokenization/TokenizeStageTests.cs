using MiniLlmPipeline.Pipeline;
using System.Text.Json;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Tokenization;

public sealed class TokenizeStageTests
{
    [Fact]
    public void TokenizeStage_OnTheTinyPipeline_WritesTokenizerAndTokenFiles_ThenIsUpToDate()
    {
        using var temp = new TempDir();
        // Own tiny data (pointed at with --set) so the test does not depend on data/tiny's contents.
        string[] train = [.. Enumerable.Range(0, 40).Select(i => TokenizerCorpus.Poems[i % TokenizerCorpus.Poems.Length] + $" #{i}")];
        string[] val = [TokenizerCorpus.Poems[0], "👍 unseen 文字"];
        ParquetDatasets.WriteStrings(temp.File("train.parquet"), [("text", train)]);
        ParquetDatasets.WriteStrings(temp.File("val.parquet"), [("text", val)]);
        var runDir = temp.File("runs");
        string[] args = ["--set", $"tokenize.data={temp.File("train.parquet")}", "--set", $"tokenize.val_data={temp.File("val.parquet")}"];

        var first = TinyRuns.Run(StageCatalog.Tokenize, runDir, args);

        Assert.True(first.ExitCode == 0, first.ToString());
        var stageDir = Path.Combine(runDir, "tokenize");
        var tokenizer = TextTokenizer.Load(Path.Combine(stageDir, TokenizedCorpus.TokenizerDir));
        Assert.Equal(384, tokenizer.VocabSize);
        foreach (var (file, documents) in new[] { (TokenizedCorpus.TrainFile, train), (TokenizedCorpus.ValFile, val) })
        {
            using var tokens = TokenFile.Open(Path.Combine(stageDir, file));
            Assert.Equal(384, tokens.VocabSize);
            var ids = new long[tokens.Count];
            tokens.Read(0, ids);
            Assert.Equal(string.Concat(documents.Select(d => d + "<|endoftext|>")), tokenizer.Decode(ids.Select(i => (int)i)));
        }
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(stageDir, "manifest.json"))))
        {
            Assert.Equal("complete", manifest.RootElement.GetProperty("status").GetString());
            var metrics = manifest.RootElement.GetProperty("metrics");
            Assert.Equal(384, metrics.GetProperty("vocab_size").GetDouble());
            var trainTokens = metrics.GetProperty("train_tokens").GetDouble();
            Assert.Equal(tokenizer.Encode(string.Concat(train.Select(d => d + "<|endoftext|>"))).Count, trainTokens);
            var textTokens = trainTokens - train.Length;   // every document ends in <|endoftext|>, not counted
            Assert.Equal(Math.Round(train.Sum(d => d.EnumerateRunes().Count()) / textTokens, 3), metrics.GetProperty("chars_per_token").GetDouble());
        }

        var second = TinyRuns.Run(StageCatalog.Tokenize, runDir, args);
        StageAssert.UpToDate(second);
    }
}
