using MiniLlmPipeline.Stages.Sft;
using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Tests.Tokenization;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using Parquet.Serialization;
using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Stages;

public sealed class SftStageTests
{
    private static Dictionary<string, double> Metrics(string stageDir) => Manifest.TryRead(stageDir)!.Metrics!.ToDictionary();

    private static List<double> TrainLosses(string stageDir) => [.. MetricsSeries.Of(stageDir, "loss").Values];

    [Fact]
    public void Sft_WritesACheckpointAndComplianceMetrics_LowersTheLoss_AndIsSkippedWhenUpToDate()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("sft", temp.Path);
        var stageDir = Path.Combine(temp.Path, "sft");

        Assert.Equal(StageStatus.Complete, Manifest.TryRead(stageDir)!.Status);
        foreach (var file in new[] { ModelCheckpoint.WeightsFile, ModelCheckpoint.ConfigFile, "samples.md", "loss.png", "metrics.jsonl" })
            Assert.True(File.Exists(Path.Combine(stageDir, file)), file);
        Assert.True(File.Exists(Path.Combine(stageDir, ModelCheckpoint.TokenizerFolder, "vocab.json")));
        Assert.Contains("## After", File.ReadAllText(Path.Combine(stageDir, "samples.md")));

        var metrics = Metrics(stageDir);
        foreach (var key in new[] { "compliance_before", "compliance_after", "form_score_before", "form_score_after" })
            Assert.InRange(metrics[key], 0, 1);
        Assert.True(metrics["val_loss"] > 0 && metrics["tokens_per_s"] > 0 && metrics["train_examples"] > 0);
        var losses = TrainLosses(stageDir);
        Assert.True(losses[^1] < losses[0], $"loss went {losses[0]} → {losses[^1]}");

        // The fine-tuned model loads as a language model of the same shape as the one it started from.
        using var model = ModelCheckpoint.LoadGpt(stageDir, CPU);
        Assert.Equal(ModelCheckpoint.ReadConfig(Path.Combine(temp.Path, "pretrain")), model.Config);

        var again = TinyRuns.Run(StageCatalog.Sft, temp.Path);
        StageAssert.UpToDate(again);
    }

    private static ChatRow Chat(params (string Role, string Content)[] turns) =>
        new() { Messages = turns.Select(t => new ChatTurn { Role = t.Role, Content = t.Content }).ToList() };

    private sealed class ChatRow
    {
        [JsonPropertyName("messages")] public List<ChatTurn>? Messages { get; set; }
    }

    private sealed class ChatTurn
    {
        [JsonPropertyName("role")] public string? Role { get; set; }
        [JsonPropertyName("content")] public string? Content { get; set; }
    }

    [Fact]
    public async Task Sft_TrainsOnAMessagesFileSwappedInWithSet_DroppingAndCountingAPromptThatFillsTheContext()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("pretrain", temp.Path);
        var data = temp.File("chat.parquet");
        var tooLong = string.Concat(Enumerable.Repeat("床前明月光，疑是地上霜。举头望明月，低头思故乡。", 30));
        await ParquetSerializer.SerializeAsync(new[]
        {
            Chat(("system", "你是诗人"), ("user", "以《春晓》为题写一首五言绝句"), ("assistant", "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。")),
            Chat(("user", "写一首诗"), ("assistant", "白日依山尽，黄河入海流。"), ("user", "再来一首"), ("assistant", "千山鸟飞绝，万径人踪灭。")),
            Chat(("user", "以《江雪》为题写一首五言绝句"), ("assistant", "千山鸟飞绝，万径人踪灭。\n孤舟蓑笠翁，独钓寒江雪。")),
            Chat(("user", tooLong), ("assistant", "诗")),
        }, data);

        var result = TinyRuns.Run(StageCatalog.Sft, temp.Path,
            "--set", $"sft.data={data}", "--set", "sft.steps=4", "--set", "sft.batch_size=2", "--set", "sft.eval_samples=1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"{data}: dropped 1 of 4 examples", result.StdErr);
        var metrics = Metrics(Path.Combine(temp.Path, "sft"));
        Assert.Equal(3, metrics["train_examples"]);
        Assert.Equal(1, metrics["dropped_examples"]);
        Assert.Equal(4, metrics["steps"]);
        Assert.Contains(data, Manifest.TryRead(Path.Combine(temp.Path, "sft"))!.Inputs.Keys);
    }

    [Fact]
    public void Sft_OnAFileWhereEveryPromptFillsTheContext_FailsNamingTheFile()
    {
        using var temp = new TempDir();
        TinyRuns.CopyUpTo("pretrain", temp.Path);
        var data = temp.File("long.parquet");
        var tooLong = string.Concat(Enumerable.Repeat("床前明月光，疑是地上霜。举头望明月，低头思故乡。", 30));
        ParquetDatasets.WriteStrings(data, [("prompt", [tooLong, tooLong + "春"]), ("response", ["诗", "词"])]);

        var result = TinyRuns.Run(StageCatalog.Sft, temp.Path, "--set", $"sft.data={data}");

        StageAssert.FailedClearly(result, $"{data}: none of its 2 examples has an assistant token within max_seq_len 192");
        Assert.False(File.Exists(Path.Combine(temp.Path, "sft", ModelCheckpoint.WeightsFile)));
    }

    [Fact]
    public void Sft_WithoutItsFromCheckpoint_FailsWithOneClearMessage()
    {
        using var temp = new TempDir();
        var result = TinyRuns.Run(StageCatalog.Sft, temp.Path);
        StageAssert.FailedClearly(result, "needs the checkpoint of stage 'pretrain'");
    }

    /// <summary>Every micro-batch is the whole (tiny) training set: the masked SFT loss, nothing else.</summary>
    private sealed class WholeSetObjective(Gpt model, IReadOnlyList<TokenizedSequence> sequences, int padId) : ITrainingObjective
    {
        public LossResult Loss(long microBatchIndex)
        {
            var batch = SequenceBatch.Build(sequences, padId, model.Config.MaxSeqLen);
            var loss = NextTokenCrossEntropy.Compute(model.call(batch.InputIds), batch.Targets, batch.LossMask);
            return new LossResult(loss, LossResult.NoMetrics, batch.Lengths.Sum());
        }

        public IReadOnlyDictionary<string, double> Evaluate() => new Dictionary<string, double>();
    }

    [Fact]
    public void FineTunedOnAHandfulOfExamples_AnswersItsTrainingPromptsWithTheTrainedResponses()
    {
        using var temp = new TempDir();
        var tokenizer = TokenizerCorpus.ChatTokenizer;
        (string Prompt, string Response)[] pairs =
        [
            ("写一首诗", "床前明月光，疑是地上霜。"), ("春", "春眠不觉晓，处处闻啼鸟。"),
            ("江", "千山鸟飞绝，万径人踪灭。"), ("山", "白日依山尽，黄河入海流。"),
        ];
        var (sequences, _) = ChatSequences.Encode(tokenizer, pairs.Select(p => SftExample.FromPair(p.Prompt, p.Response).Messages), 64);
        torch.manual_seed(3);
        using var model = new Gpt(new GptConfig(tokenizer.VocabSize, DModel: 64, NLayers: 2, NHeads: 4, NKvHeads: 2, FfnHidden: 128,
            MaxSeqLen: 64, RopeTheta: 10000));
        var config = new SftConfig
        {
            Data = "unused", Steps = 80, Lr = 1e-2, WarmupSteps = 5, WeightDecay = 0, EvalEvery = 1000, CheckpointEvery = 1000, LogEvery = 50,
        };
        var options = new TrainerOptions { StageDir = temp.Path, StateDir = temp.File("state"), StageName = "sft-test", Seed = 1337 };
        var result = new Trainer(options).Train(model, new WholeSetObjective(model, sequences, tokenizer.PadId), config, config.Steps);

        var answers = new TextGenerator(model, tokenizer, chat: true)
            .Complete(pairs.Select(p => p.Prompt).ToList(), new SamplingSettings { Greedy = true, MaxNewTokens = 24 }, new torch.Generator(1));
        Assert.True(result.FinalTrainLoss < 0.1, $"final loss {result.FinalTrainLoss}");
        Assert.Equal(pairs.Select(p => p.Response), answers);
    }
}
