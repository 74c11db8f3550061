using MiniLlmPipeline.Data;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Tokenization;

/// <summary>The tokenize stage's streaming paths give exactly what the in-memory ones gave.</summary>
public class StreamingTokenizeTests
{
    private static readonly List<string> Corpus = ParquetDatasets.ReadText(RepoPaths.Under("data", "tiny", "pretrain.parquet")).ToList();

    [Fact]
    public void TrainOnBatches_LearnsTheSameMergesHoweverTheCorpusIsBatched()
    {
        var trainer = new BpeTrainer(384, 2);
        var whole = trainer.Train(Corpus);
        var batched = trainer.TrainOnBatches(Corpus.Chunk(37).Select(c => (IReadOnlyList<string>)c));

        Assert.Equal(whole.Tokens, batched.Tokens);
        Assert.Equal(whole.Merges, batched.Merges);
    }

    [Fact]
    public void EncodeToFile_WritesTheBytesOfTheInMemoryEncoding()
    {
        using var dir = new TempDir();
        var tokenizer = TextTokenizer.FromModel(new BpeTrainer(384, 2).Train(Corpus));
        var inMemory = dir.File("memory.bin");
        TokenFile.Write(inMemory, TokenizedCorpus.EncodeDocuments(tokenizer, Corpus), tokenizer.VocabSize);

        var streamed = dir.File("streamed.bin");
        // Row groups of uneven sizes, one larger than an encoding chunk, so chunk and group boundaries both fall mid-corpus.
        var groups = new[] { Corpus.Take(3).ToArray(), Corpus.Skip(3).Take(2500).ToArray(), Corpus.Skip(2503).ToArray() };
        var written = TokenizedCorpus.EncodeToFile(tokenizer, groups, streamed);

        Assert.Equal(File.ReadAllBytes(inMemory), File.ReadAllBytes(streamed));
        Assert.Equal(Corpus.Count, written.Documents);
        using var file = TokenFile.Open(streamed);
        Assert.Equal(file.Count, written.Tokens);
        Assert.Equal(Corpus.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t)), written.Utf8Bytes);
    }
}
