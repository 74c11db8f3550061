using MiniLlmPipeline.Model;
using TorchSharp;

namespace MiniLlmPipeline.Tests.Model;

/// <summary>Tiny GPT shapes for fast tests: two layers, grouped-query (4 query heads over 2 kv heads).</summary>
internal static class TinyModels
{
    public static readonly GptConfig Config = new(
        VocabSize: 50, DModel: 32, NLayers: 2, NHeads: 4, NKvHeads: 2, FfnHidden: 64, MaxSeqLen: 32, RopeTheta: 10000);

    public static Gpt Create(int seed = 1, GptConfig? config = null)
    {
        torch.manual_seed(seed);
        var model = new Gpt(config ?? Config);
        model.eval();
        return model;
    }

    public static torch.Tensor RandomIds(int batch, int length, int seed = 7)
    {
        var generator = new torch.Generator((ulong)seed);
        return torch.randint(0, Config.VocabSize, [batch, length], generator: generator);
    }
}
