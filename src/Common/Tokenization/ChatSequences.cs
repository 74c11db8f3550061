using MiniLlmPipeline.Data;

namespace MiniLlmPipeline.Tokenization;

/// <summary>Conversations rendered with <see cref="ChatTemplate"/> into training sequences that fit the context window.</summary>
public static class ChatSequences
{
    /// <summary>
    /// Renders every conversation (loss mask on assistant tokens and their <c>&lt;|im_end|&gt;</c>) and keeps those with at
    /// least one trained token within <paramref name="maxLength"/> inputs; the others (a prompt that fills the context)
    /// would add nothing but compute, so they are dropped and counted rather than truncated into an empty target.
    /// </summary>
    public static (IReadOnlyList<TokenizedSequence> Kept, int Dropped) Encode(
        TextTokenizer tokenizer, IEnumerable<IReadOnlyList<ConversationTurn>> conversations, int maxLength)
    {
        var kept = new List<TokenizedSequence>();
        var dropped = 0;
        foreach (var turns in conversations)
        {
            var sequence = ChatTemplate.Render(tokenizer, turns);
            if (SequenceBatch.HasTrainedTargets(sequence, maxLength)) kept.Add(sequence);
            else dropped++;
        }
        return (kept, dropped);
    }
}
