namespace MiniLlmPipeline.Data;

/// <summary>
/// What a dataset key in the spec names: one Parquet file, a folder of Parquet shards (every <c>*.parquet</c> in
/// it, not recursive), or a glob whose last path segment has <c>*</c>/<c>?</c> wildcards
/// (<c>data/corpus/train-*.parquet</c>), as Hugging Face datasets ship them. Shards are read in ordinal order
/// of their file names, so the same folder always yields the same row order on every machine.
/// </summary>
public static class DatasetShards
{
    public static bool IsPattern(string path) => path.IndexOfAny(['*', '?']) >= 0;

    /// <summary>The shard files <paramref name="path"/> names, ordinal-sorted; a <see cref="DatasetException"/> if none.</summary>
    public static IReadOnlyList<string> Resolve(string path)
    {
        if (File.Exists(path)) return [path];
        if (Directory.Exists(path))
            return Sorted(Directory.GetFiles(path, "*.parquet"), $"{path}: the folder holds no *.parquet shard");
        if (!IsPattern(path)) throw new DatasetException($"{path}: file not found");
        var folder = Path.GetDirectoryName(path) is { Length: > 0 } d ? d : ".";
        var pattern = Path.GetFileName(path);
        if (IsPattern(folder))
            throw new DatasetException($"{path}: only the file name may hold wildcards (* or ?), not the folder '{folder}'");
        if (!Directory.Exists(folder)) throw new DatasetException($"{path}: folder '{folder}' not found");
        return Sorted(Directory.GetFiles(folder, pattern), $"{path}: the pattern matches no file");
    }

    private static IReadOnlyList<string> Sorted(string[] files, string noneMessage)
    {
        if (files.Length == 0) throw new DatasetException(noneMessage);
        Array.Sort(files, StringComparer.Ordinal);
        return files;
    }
}
