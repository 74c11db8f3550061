namespace MiniLlmPipeline.Data;

/// <summary>Appends the next ids to a token file being written by <see cref="TokenFile.Write(string, int, Action{TokenChunkWriter})"/>.</summary>
public delegate void TokenChunkWriter(ReadOnlySpan<int> ids);
