using System.Text.Json.Serialization;

namespace MiniLlmPipeline.Data;

/// <summary>Parquet shape of a <c>messages</c> row (list of struct {role, content}), as Hugging Face chat datasets store it.</summary>
internal sealed class MessagesRow
{
    [JsonPropertyName("messages")]
    public List<MessageRow>? Messages { get; set; }
}

internal sealed class MessageRow
{
    [JsonPropertyName("role")]
    public string? Role { get; set; }

    [JsonPropertyName("content")]
    public string? Content { get; set; }
}
