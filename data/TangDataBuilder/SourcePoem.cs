namespace MiniLlmPipeline.TangData;

/// <summary>One entry of quan_tang_shi as the node script wrote it (already simplified).</summary>
internal sealed record SourcePoem(string Id, string Author, string Title, string[] Paragraphs);
