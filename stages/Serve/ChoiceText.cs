using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>
/// One choice's text as its tokens arrive, released in safe pieces for streaming: byte-level tokens can end
/// inside a UTF-8 character (it decodes to U+FFFD until the rest arrives), and text that might be the start of a
/// stop sequence is held back until it is clear it is not. A stop token or a stop sequence ends the choice; the
/// stop itself is not part of the text, as with OpenAI.
/// </summary>
internal sealed class ChoiceText(TextTokenizer tokenizer, int[] stopIds, IReadOnlyList<string> stops)
{
    private readonly List<int> _ids = [];
    private readonly int _holdBack = stops.Count == 0 ? 0 : stops.Max(s => s.Length) - 1;
    private string _text = "";
    private int _released;

    /// <summary>Tokens the model produced for this choice (the stop token included: it was generated).</summary>
    public int Tokens { get; private set; }
    public string? FinishReason { get; private set; }
    public string Text => _text;

    /// <summary>The text this token makes safe to release (often empty).</summary>
    public string Add(int token)
    {
        if (FinishReason is not null) return "";
        Tokens++;
        if (stopIds.Contains(token)) return Finish("stop");
        _ids.Add(token);
        _text = tokenizer.Decode(_ids, skipSpecialTokens: true);
        var stopAt = stops.Select(s => _text.IndexOf(s, Math.Max(0, _released - s.Length), StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        if (stopAt >= 0)
        {
            _text = _text[..stopAt];
            return Finish("stop");
        }
        var end = _text.Length;
        while (end > _released && _text[end - 1] == '\uFFFD') end--;
        end = Math.Max(_released, end - _holdBack);
        return Release(end);
    }

    /// <summary>Ends the choice and releases what was held back.</summary>
    public string Finish(string reason)
    {
        FinishReason ??= reason;
        return Release(_text.Length);
    }

    private string Release(int end)
    {
        if (end <= _released) return "";
        var piece = _text[_released..end];
        _released = end;
        return piece;
    }
}
