using System.Text.RegularExpressions;

namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// Splits text into pre-tokens; BPE merges never cross a pre-token boundary. The pattern is GPT-4's
/// (cl100k) split with one change for Chinese: a run of CJK ideographs (BMP blocks and, as surrogate
/// pairs, the supplementary planes) is one pre-token, so merges can build multi-character words and
/// whole phrases, and CJK punctuation (，。) stays a separate pre-token instead of gluing onto the next
/// clause. Every character is matched by some alternative and no alternative splits a surrogate pair,
/// so the pre-tokens always concatenate back to the input. The same <see cref="Regex"/> instance drives
/// training and the Microsoft.ML.Tokenizers encoder, so both see identical pre-tokens.
/// </summary>
public static partial class PreTokenSplitter
{
    internal const string Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)" +
        @"|(?:[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]|[\uD840-\uD87F][\uDC00-\uDFFF])+" +
        @"|[^\r\n\p{L}\p{N}]?[\p{L}-[\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF]]+" +
        @"|\p{N}{1,3}" +
        @"| ?[^\s\p{L}\p{N}]+[\r\n]*" +
        @"|\s*[\r\n]+" +
        @"|\s+(?!\S)" +
        @"|\s+";

    [GeneratedRegex(Pattern)]
    public static partial Regex Regex { get; }

    /// <summary>
    /// The pieces of <paramref name="text"/> in order: special tokens as whole pieces (flagged), the text
    /// between them split by <see cref="Regex"/> — the same order of operations as ML.Tokenizers'
    /// <c>RegexPreTokenizer</c>.
    /// </summary>
    public static List<(int Offset, int Length, bool IsSpecial)> Split(string text)
    {
        var pieces = new List<(int, int, bool)>();
        var start = 0;
        while (start < text.Length)
        {
            var (specialAt, special) = NextSpecial(text, start);
            var end = specialAt < 0 ? text.Length : specialAt;
            foreach (var match in Regex.EnumerateMatches(text.AsSpan(start, end - start)))
                pieces.Add((start + match.Index, match.Length, false));
            if (specialAt < 0) break;
            pieces.Add((specialAt, special!.Length, true));
            start = specialAt + special.Length;
        }
        return pieces;
    }

    private static (int At, string? Token) NextSpecial(string text, int start)
    {
        var candidate = text.IndexOf("<|", start, StringComparison.Ordinal);
        while (candidate >= 0)
        {
            foreach (var token in SpecialTokens.All)
                if (string.CompareOrdinal(text, candidate, token, 0, token.Length) == 0) return (candidate, token);
            candidate = text.IndexOf("<|", candidate + 1, StringComparison.Ordinal);
        }
        return (-1, null);
    }
}
