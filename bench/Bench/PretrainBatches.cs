using System.Text;
using MiniLlmPipeline.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// Pretraining batches as the pretrain stage builds them (random windows of T + 1 ids from a
/// memory-mapped token file, RNG seeded per micro-batch), so the bench times the same loader work.
/// The ids are the UTF-8 bytes of the Tang corpus (real text with structure to learn, without
/// waiting for BPE), or random ids when the corpus is absent.
/// </summary>
internal sealed class PretrainBatches : IDisposable
{
    private readonly string path;
    private readonly TokenFile file;
    private readonly int rows;
    private readonly int seqLen;

    public PretrainBatches(string corpus, int vocab, int rows, int seqLen)
    {
        this.rows = rows;
        this.seqLen = seqLen;
        path = Path.Combine(Path.GetTempPath(), $"bench-{Guid.NewGuid():N}.bin");
        TokenFile.Write(path, CorpusIds(corpus, vocab), vocab);
        file = TokenFile.Open(path);
    }

    private static List<int> CorpusIds(string corpus, int vocab)
    {
        if (File.Exists(corpus))
            return [.. ParquetDatasets.ReadText(corpus).SelectMany(text => Encoding.UTF8.GetBytes(text + "\n")).Select(b => (int)b)];
        var rng = new Random(1);
        return [.. Enumerable.Range(0, 3_000_000).Select(_ => rng.Next(vocab))];
    }

    /// <summary>Inputs (B, T) and next-token targets (B, T) of micro-batch <paramref name="index"/>.</summary>
    public (Tensor Inputs, Tensor Targets) Batch(long index) =>
        TokenWindows.Sample(file, rows, seqLen, SeedMix.Of(1337, index), torch.CPU);

    public void Dispose()
    {
        file.Dispose();
        File.Delete(path);
    }
}
