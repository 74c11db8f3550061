using MiniLlmPipeline.Data;
using MiniLlmPipeline.Pipeline;
using static MiniLlmPipeline.Tests.Data.ArrowParquetFiles;

namespace MiniLlmPipeline.Tests.Data;

/// <summary>A dataset key naming a folder or a glob of Parquet shards, as Hugging Face datasets ship them.</summary>
public class ShardedDatasetTests
{
    private static string Shard(TempDir dir, string name, params string[] texts)
    {
        var path = dir.File(name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ParquetDatasets.WriteStrings(path, [("text", texts)]);
        return path;
    }

    [Fact]
    public void FolderAndGlob_ReadEveryShardInOrdinalOrder()
    {
        using var dir = new TempDir();
        Shard(dir, "corpus/train-10.parquet", "c");   // ordinal order: "train-00" < "train-01" < "train-10"
        Shard(dir, "corpus/train-00.parquet", "a1", "a2");
        Shard(dir, "corpus/train-01.parquet", "b");
        dir.Write("corpus/README.md", "not a shard");

        Assert.Equal(["a1", "a2", "b", "c"], ParquetDatasets.ReadText(dir.File("corpus")));
        Assert.Equal(["a1", "a2", "b", "c"], ParquetDatasets.ReadText(dir.File("corpus/*.parquet")));
        Assert.Equal(["b", "c"], ParquetDatasets.ReadText(dir.File("corpus/train-?1*.parquet")).Concat(ParquetDatasets.ReadText(dir.File("corpus/train-1?.parquet"))));
        Assert.Equal(3, TextDataset.Open(dir.File("corpus")).Shards.Count);
    }

    [Fact]
    public void ShardsOfEveryKind_ReadAsOneDataset()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("prefs"));
        ParquetDatasets.WriteStrings(dir.File("prefs/0.parquet"), [("prompt", ["p0"]), ("chosen", ["c0"]), ("rejected", ["r0"])]);
        ParquetDatasets.WriteStrings(dir.File("prefs/1.parquet"), [("prompt", ["p1"]), ("chosen", ["c1"]), ("rejected", ["r1"])]);
        Directory.CreateDirectory(dir.File("chat"));
        Write(dir.File("chat/a.parquet"), Batch(MessagesColumn([[("user", "q"), ("assistant", "a")]], new MessagesLayout(LeafNullable: false))));
        Write(dir.File("chat/b.parquet"), Batch(MessagesColumn([[("system", "s"), ("user", "q"), ("assistant", "b")]], new MessagesLayout())));

        Assert.Equal(["p0", "p1"], ParquetDatasets.ReadPreferences(dir.File("prefs")).Select(p => p.Prompt));
        Assert.Equal(["a", "b"], ParquetDatasets.ReadSft(dir.File("chat/*.parquet")).Select(e => e.Messages[^1].Content));
    }

    [Fact]
    public void GlobMatchingNothing_NamesThePattern()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("corpus"));
        var pattern = dir.File("corpus/*.parquet");

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(pattern).ToList());
        Assert.Equal($"{pattern}: the pattern matches no file", e.Message);
        e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(dir.File("corpus")).ToList());
        Assert.Equal($"{dir.File("corpus")}: the folder holds no *.parquet shard", e.Message);
    }

    [Fact]
    public void ShardsWhoseColumnsDisagree_NameTheShardAndColumn()
    {
        using var dir = new TempDir();
        Shard(dir, "c/0.parquet", "a");
        var odd = dir.File("c/1.parquet");
        ParquetDatasets.WriteStrings(odd, [("text", ["b"]), ("source", ["web"])]);

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(dir.File("c")).ToList());
        Assert.Equal($"{odd}: column 'source' is not in shard {dir.File("c/0.parquet")}; the shards of a dataset must have the same columns", e.Message);

        ParquetDatasets.WriteStrings(odd, [("body", ["b"])]);
        e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(dir.File("c")).ToList());
        Assert.StartsWith($"{odd}: missing column 'text' (pretraining text)", e.Message);
    }

    [Fact]
    public void ShardThatIsNotParquet_IsNamedBeforeAnyRowIsRead()
    {
        using var dir = new TempDir();
        Shard(dir, "c/0.parquet", "a");
        var bad = dir.Write("c/1.parquet", "not parquet");

        var e = Assert.Throws<DatasetException>(() => TextDataset.Open(dir.File("c")));
        Assert.StartsWith($"{bad}: not a readable Parquet file", e.Message);
    }

    [Fact]
    public void Tokenize_OnAGlob_HashesEveryShard_AndABadShardFailsWithNothingWritten()
    {
        using var temp = new TempDir();
        var texts = ParquetDatasets.ReadText(RepoPaths.Under("data", "tiny", "pretrain.parquet")).ToList();
        Shard(temp, "corpus/a.parquet", [.. texts.Take(texts.Count / 2)]);
        var second = Shard(temp, "corpus/b.parquet", [.. texts.Skip(texts.Count / 2)]);
        var glob = $"tokenize.data={temp.File("corpus/*.parquet")}";

        var first = TinyRuns.Run(StageCatalog.Tokenize, temp.Path, "--set", glob);
        Assert.True(first.ExitCode == 0, first.ToString());
        StageAssert.UpToDate(TinyRuns.Run(StageCatalog.Tokenize, temp.Path, "--set", glob));

        ParquetDatasets.WriteStrings(second, [("text", ["一首新诗"])]);   // a changed shard reruns the stage
        var rerun = TinyRuns.Run(StageCatalog.Tokenize, temp.Path, "--set", glob);
        Assert.True(rerun.ExitCode == 0 && !rerun.StdErr.Contains("up to date"), rerun.ToString());

        using var fresh = new TempDir();
        var bad = temp.Write("corpus/c.parquet", "not parquet");
        var failed = TinyRuns.Run(StageCatalog.Tokenize, fresh.Path, "--set", glob);
        StageAssert.FailedClearly(failed, $"{bad}: not a readable Parquet file");
        Assert.False(File.Exists(Path.Combine(fresh.Path, "tokenize", "train.bin")));
        Assert.False(Directory.Exists(Path.Combine(fresh.Path, "tokenize", "tokenizer")));

        var none = TinyRuns.Run(StageCatalog.Tokenize, fresh.Path, "--set", $"tokenize.data={temp.File("corpus/*.arrow")}");
        StageAssert.FailedClearly(none, "stages.tokenize.data:", "the pattern matches no file");
    }
}
