namespace MiniLlmPipeline.Bench;

/// <summary>What to run: <c>--quick</c> shrinks repeats and lengths for a smoke run; <c>--only</c> picks one section.</summary>
internal sealed record BenchOptions(bool Quick, string? Only, string DataDir, string RunDir)
{
    /// <summary>Corpus sizes of the scale section, as multiples of the shipped corpus (<c>--scales 1,10,50</c>).</summary>
    public IReadOnlyList<int> Scales { get; init; } = [1, 10, 50];

    /// <summary>Best-of repeats for a timed body: fewer in quick mode.</summary>
    public int Repeats(int full) => Quick ? 1 : full;

    public bool Includes(string section) => Only is null || string.Equals(Only, section, StringComparison.OrdinalIgnoreCase);
}
