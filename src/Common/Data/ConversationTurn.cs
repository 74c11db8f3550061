namespace MiniLlmPipeline.Data;

/// <summary>One message of a conversation: role is <c>system</c>, <c>user</c> or <c>assistant</c>.</summary>
public sealed record ConversationTurn(string Role, string Content);
