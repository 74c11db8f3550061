namespace MiniLlmPipeline.Data;

/// <summary>A long run of token ids that training windows are cut from (a memory-mapped <see cref="TokenFile"/> or ids in memory).</summary>
public interface ITokenSequence
{
    long Count { get; }
    int VocabSize { get; }

    /// <summary>Copies ids [start, start + destination.Length) into <paramref name="destination"/>.</summary>
    void Read(long start, Span<long> destination);
}
