using MiniLlmPipeline.Model;

namespace MiniLlmPipeline.Bench;

/// <summary>The two models every section measures: the default pipeline's and a larger one.</summary>
internal static class BenchModels
{
    public const int Vocab = 4096;

    /// <summary>pipelines/tang-poetry.yaml: d256 L6 H8 KV4 ffn704 T128, batch 16 (the pretrain stage's since 1f79612; 32 before).</summary>
    public static readonly GptConfig Default = new(Vocab, 256, 6, 8, 4, 704, 128, 10000);
    public const int DefaultBatch = 16;

    /// <summary>d512 L8 H8 KV4 ffn1408 T256, batch 16 (the same 4096 tokens per step).</summary>
    public static readonly GptConfig Large = new(Vocab, 512, 8, 8, 4, 1408, 256, 10000);
    public const int LargeBatch = 16;
}
