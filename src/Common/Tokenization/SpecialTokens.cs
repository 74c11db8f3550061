namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// The special tokens of every tokenizer we train. They take ids 256–259, right after the 256 byte
/// tokens, so they keep the same ids whatever the vocabulary size; learned merges start at id 260.
/// They are never produced by merges and never split by the encoder.
/// </summary>
public static class SpecialTokens
{
    public const string EndOfText = "<|endoftext|>";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";
    public const string Pad = "<|pad|>";

    /// <summary>In id order: <c>All[i]</c> has id <see cref="FirstId"/> + i.</summary>
    public static readonly IReadOnlyList<string> All = [EndOfText, ImStart, ImEnd, Pad];
    public const int FirstId = 256;

    /// <summary>The id of a special token; throws for any other string.</summary>
    public static int IdOf(string token)
    {
        for (var i = 0; i < All.Count; i++)
            if (All[i] == token) return FirstId + i;
        throw new ArgumentException($"'{token}' is not a special token", nameof(token));
    }
}
