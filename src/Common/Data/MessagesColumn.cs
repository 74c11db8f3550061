using Parquet.Schema;

namespace MiniLlmPipeline.Data;

/// <summary>
/// A <c>messages</c> column (list of struct {role, content, …}, as Hugging Face chat datasets store it) checked
/// against the file's schema: its two text leaves and the definition levels at which, in this file, the list
/// is non-null (<see cref="DefinitionLevels.List"/>), non-empty (<see cref="DefinitionLevels.Entry"/>) and a turn's struct is
/// non-null (<see cref="DefinitionLevels.Element"/>); they depend on which of those levels the writer made optional.
/// </summary>
internal sealed record MessagesColumn(string Name, DataField Role, DataField Content, MessagesColumn.DefinitionLevels Levels)
{
    internal sealed record DefinitionLevels(int List, int Entry, int Element);
}
