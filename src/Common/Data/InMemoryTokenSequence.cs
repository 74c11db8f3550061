namespace MiniLlmPipeline.Data;

/// <summary>Token ids held in memory, e.g. a Parquet text file encoded on the fly when a stage's data is swapped.</summary>
public sealed class InMemoryTokenSequence(int[] ids, int vocabSize) : ITokenSequence
{
    public long Count => ids.Length;
    public int VocabSize => vocabSize;

    public void Read(long start, Span<long> destination)
    {
        if (start < 0 || start + destination.Length > ids.Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"window [{start}, {start + destination.Length}) is outside 0..{ids.Length}");
        for (var i = 0; i < destination.Length; i++) destination[i] = ids[start + i];
    }
}
