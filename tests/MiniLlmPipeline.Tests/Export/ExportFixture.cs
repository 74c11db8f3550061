using MiniLlmPipeline.Model;
using MiniLlmPipeline.Stages.Export;
using MiniLlmPipeline.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Export;

/// <summary>
/// One checkpoint folder shaped like a stage's (model.safetensors, config.json, tokenizer/) built once for the export
/// tests: a BPE trained on mixed Chinese/English/emoji text and a random-weight GPT over it (random weights are as good
/// as trained ones for logit equality, and take no training time), exported as GGUF f32/f16/q8_0 and as an HF folder.
/// The weights come from a private generator, so other test classes seeding the global one cannot change them.
/// </summary>
public sealed class ExportFixture : IDisposable
{
    private readonly TempDir _dir = new();

    /// <summary>The test text: Tang verse with CJK punctuation, English with a contraction and digits, emoji, a supplementary-plane ideograph.</summary>
    public const string MixedText = "春眠不觉晓，处处闻啼鸟。Hello, world! It's 2024年 🌸🎉 你好world，abc12345 夜来风雨声😀\n花落知多少？ 𠀀 don't  stop\n";

    public static readonly string[] Texts =
    [
        MixedText,
        "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
        "The quick brown fox jumps over 13 lazy dogs; they're 100% asleep 😴.",
        "混合mixed文本text：数字123和emoji👍🏽在一起。",
        "<|im_start|>user\n以《春望》为题写一首五言绝句<|im_end|>\n<|im_start|>assistant\n",
        "  leading spaces\t\ttabs\r\nwindows line   ",
    ];

    public ExportFixture()
    {
        Tokenizer = TextTokenizer.FromModel(new BpeTrainer(vocabSize: 700, minFrequency: 1).Train(Corpus()));
        Config = new GptConfig(VocabSize: Tokenizer.VocabSize, DModel: 64, NLayers: 2, NHeads: 4, NKvHeads: 2, FfnHidden: 128,
            MaxSeqLen: 128, RopeTheta: 10000, MatmulDtype: ScalarType.Float32);
        Model = RandomModel(Config, seed: 5);
        StageDir = Path.Combine(_dir.Path, "sft");
        var tokenizerDir = Path.Combine(_dir.Path, "tokenizer-src");
        Tokenizer.Model.Save(tokenizerDir);
        ModelCheckpoint.Save(StageDir, Model, tokenizerDir);
        ExportDir = Path.Combine(_dir.Path, "export");
        foreach (var quant in Enum.GetValues<ExportQuant>())
            Gguf[quant] = Exporter.Run(StageDir, ExportDir, "test-sft", ExportFormat.Gguf, quant);
        Hf = Exporter.Run(StageDir, ExportDir, "test-sft", ExportFormat.Hf, ExportQuant.F32);
    }

    public TextTokenizer Tokenizer { get; }
    public GptConfig Config { get; }
    public Gpt Model { get; }
    public string StageDir { get; }
    public string ExportDir { get; }
    public Dictionary<ExportQuant, Exporter.Result> Gguf { get; } = [];
    public Exporter.Result Hf { get; }

    public string TempPath(string name) => _dir.File(name);

    /// <summary>
    /// A GPT whose weights are drawn from its own generator and larger than the training init (std 0.02), so the logits
    /// spread over several units and the argmax is not a near-tie that rounding could flip.
    /// </summary>
    public static Gpt RandomModel(GptConfig config, int seed)
    {
        var model = new Gpt(config);
        model.eval();
        var generator = new torch.Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (parameter.dim() == 1) parameter.copy_(1 + 0.2 * torch.randn(parameter.shape, generator: generator));
            else parameter.copy_((name.Contains("embed") ? 0.5 : 0.25) * torch.randn(parameter.shape, generator: generator));
        }
        return model;
    }

    /// <summary>Next-token logits of every position, (T, V).</summary>
    public static float[][] Logits(Gpt model, IReadOnlyList<int> ids)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var logits = model.forward(torch.tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0))[0];
        return Enumerable.Range(0, ids.Count).Select(t => logits[t].data<float>().ToArray()).ToArray();
    }

    /// <summary>Greedy continuation by full forward passes (the reference; no cache to get wrong).</summary>
    public static List<int> Greedy(Gpt model, IReadOnlyList<int> prompt, int newTokens)
    {
        var ids = prompt.ToList();
        for (var i = 0; i < newTokens; i++) ids.Add(ArgMax(Logits(model, ids)[^1]));
        return ids.Skip(prompt.Count).ToList();
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    private static List<string> Corpus()
    {
        string[] lines =
        [
            "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。", "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
            "国破山河在，城春草木深。感时花溅泪，恨别鸟惊心。", "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。",
            "Hello, world! It's a small model; we're testing the export.", "The quick brown fox jumps over the lazy dog 123 times.",
            "Don't stop: they'll see you've done it, I'm sure he'd agree.", "emoji 🌸🎉😀👍🏽 and more emoji 😴🌸",
            "你好world，混合mixed文本text：数字2024和12345。", "  spaces\t\ttabs\r\nwindows lines\n\n",
        ];
        return [.. Enumerable.Repeat(lines, 20).SelectMany(l => l)];
    }

    public void Dispose()
    {
        Model.Dispose();
        _dir.Dispose();
    }
}
