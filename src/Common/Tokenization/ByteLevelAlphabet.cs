namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// GPT-2's reversible byte → printable-character mapping (Radford et al. 2019, <c>bytes_to_unicode</c>):
/// printable Latin-1 bytes map to themselves, the other 68 bytes (controls, space, …) to U+0100 and up,
/// so every token of <c>vocab.json</c> / <c>merges.txt</c> is a space-free string of visible characters.
/// Token id b is the single byte b in our vocabularies.
/// </summary>
internal static class ByteLevelAlphabet
{
    public static readonly char[] ByteToChar = Build();

    private static char[] Build()
    {
        var map = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }
}
