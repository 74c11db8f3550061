namespace MiniLlmPipeline.TangData;

/// <summary>How a rejected answer of a preference pair is wrong (names as listed in data/README.md).</summary>
internal enum RejectedKind
{
    /// <summary>A real poem of another regular form.</summary>
    WrongForm,
    /// <summary>The real poem with one or two verses one character short or long.</summary>
    BrokenLength,
    /// <summary>The real poem's verses in another order (punctuation stays in place, so the form still checks).</summary>
    ShuffledLines,
    /// <summary>One couplet replaced by a copy of another.</summary>
    RepeatedLines,
    /// <summary>The real poem cut off after 2 to n−1 verses.</summary>
    Truncated,
}
