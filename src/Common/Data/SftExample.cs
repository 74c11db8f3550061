namespace MiniLlmPipeline.Data;

/// <summary>
/// One supervised example as a conversation. Files with <c>prompt</c>/<c>response</c> columns become a
/// user turn and an assistant turn; files with a <c>messages</c> column keep all their turns.
/// </summary>
public sealed record SftExample(IReadOnlyList<ConversationTurn> Messages)
{
    public static SftExample FromPair(string prompt, string response) =>
        new([new ConversationTurn("user", prompt), new ConversationTurn("assistant", response)]);
}
