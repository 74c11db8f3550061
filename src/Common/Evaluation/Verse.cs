using System.Text;

namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// One verse (句) of a poem: its characters and the punctuation mark that closed it (null when it was
/// closed by a line break, other whitespace or the end of the text).
/// </summary>
public sealed record Verse(string Text, char? Mark)
{
    /// <summary>Han characters in the verse, counted as code points (some rare characters lie outside the BMP).</summary>
    public int HanCount => Text.EnumerateRunes().Count(IsHan);

    /// <summary>Code points that are not Han characters (letters, digits, symbols): never part of a regular verse.</summary>
    public int OtherCount => Text.EnumerateRunes().Count(r => !IsHan(r));

    /// <summary>CJK Unified Ideographs, Extension A, the compatibility block and the supplementary planes' extensions B–H.</summary>
    public static bool IsHan(Rune rune) => rune.Value is
        >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0xF900 and <= 0xFAFF or >= 0x20000 and <= 0x323AF;

    public override string ToString() => Text + Mark;
}
