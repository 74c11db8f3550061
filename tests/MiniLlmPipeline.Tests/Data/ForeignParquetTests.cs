using Apache.Arrow;
using Apache.Arrow.Types;
using MiniLlmPipeline.Data;
using ParquetSharp;
using static MiniLlmPipeline.Tests.Data.ArrowParquetFiles;

namespace MiniLlmPipeline.Tests.Data;

/// <summary>The four dataset kinds read from files written by Arrow C++ (ParquetSharp), in every layout a writer may choose.</summary>
public class ForeignParquetTests
{
    private static readonly string[] Poems = [.. Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? "床前明月光，疑是地上霜。" : $"poem {i} 举头望明月")];

    [Theory]
    [InlineData(Compression.Uncompressed, true, TextKind.String, false)]
    [InlineData(Compression.Snappy, true, TextKind.String, true)]
    [InlineData(Compression.Snappy, false, TextKind.String, false)]
    [InlineData(Compression.Gzip, true, TextKind.LargeString, false)]
    [InlineData(Compression.Zstd, false, TextKind.LargeString, true)]
    [InlineData(Compression.Brotli, true, TextKind.Binary, false)]
    [InlineData(Compression.Lz4, false, TextKind.Binary, true)]
    public void ReadText_AnyCodecEncodingTextTypeAndNullability(Compression codec, bool dictionary, TextKind kind, bool nullable)
    {
        using var dir = new TempDir();
        var path = dir.File("text.parquet");
        Write(path, Batch(TextColumn("text", Poems, kind, nullable), TextColumn("id", Poems.Select((_, i) => $"{i}").ToArray())),
            new Layout(codec, dictionary, RowGroupRows: 7));

        Assert.Equal(Poems, ParquetDatasets.ReadText(path).ToArray());
    }

    [Fact]
    public void ReadText_DataPageV2()
    {
        using var dir = new TempDir();
        var path = dir.File("text.parquet");
        Write(path, Batch(TextColumn("text", Poems, nullable: true)), new Layout(Compression.Zstd, RowGroupRows: 16, DataPageV2: true));

        Assert.Equal(Poems, ParquetDatasets.ReadText(path).ToArray());
    }

    [Fact]
    public void ReadText_NullCellInAnOptionalColumn_NamesShardRowAndColumn()
    {
        using var dir = new TempDir();
        var path = dir.File("text.parquet");
        Write(path, Batch(TextColumn("text", ["a", "b", null, "d"])), new Layout(RowGroupRows: 2));

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(path).ToList());
        Assert.Equal($"{path}: row 2: column 'text' is null", e.Message);
    }

    private static readonly (string, string)[][] Chats =
    [
        [("system", "你是诗人"), ("user", "以《春晓》为题写一首五言绝句"), ("assistant", "春眠不觉晓，处处闻啼鸟。")],
        [("user", "写一首诗"), ("assistant", "白日依山尽"), ("user", "再来一首"), ("assistant", "")],
        [("user", "题"), ("assistant", "诗")],
    ];

    /// <summary>Every combination of required/optional list, struct and leaves, with and without extra struct fields.</summary>
    public static TheoryData<bool, bool, bool, bool> MessageLayouts()
    {
        var data = new TheoryData<bool, bool, bool, bool>();
        foreach (var list in new[] { false, true })
            foreach (var element in new[] { false, true })
                foreach (var leaf in new[] { false, true })
                    data.Add(list, element, leaf, list ^ element ^ leaf);
        return data;
    }

    [Theory]
    [MemberData(nameof(MessageLayouts))]
    public void ReadSft_MessagesInAnyNullabilityLayout_KeepsEveryTurnIncludingSystem(bool listNullable, bool elementNullable, bool leafNullable, bool extraFields)
    {
        using var dir = new TempDir();
        var path = dir.File("chat.parquet");
        Write(path, Batch(MessagesColumn(Chats, new MessagesLayout(listNullable, elementNullable, leafNullable, extraFields))), new Layout(RowGroupRows: 2));

        var examples = ParquetDatasets.ReadSft(path);

        Assert.Equal(Chats.Select(c => c.Select(t => new ConversationTurn(t.Item1, t.Item2))), examples.Select(e => e.Messages));
    }

    /// <summary>
    /// The crash of issue 18: non-nullable role/content inside list&lt;struct&gt; (a typed pyarrow schema, Spark, Polars) made
    /// Parquet.Net's class deserializer throw "class definition level (4) does not match file's definition level (3)".
    /// </summary>
    [Fact]
    public void ReadSft_RequiredRoleAndContentInsideAnOptionalList_Reads()
    {
        using var dir = new TempDir();
        var path = dir.File("chat.parquet");
        Write(path, Batch(MessagesColumn(Chats, new MessagesLayout(ListNullable: true, ElementNullable: true, LeafNullable: false))));

        var examples = ParquetDatasets.ReadSft(path);

        Assert.Equal(3, examples.Count);
        Assert.Equal(new ConversationTurn("system", "你是诗人"), examples[0].Messages[0]);
    }

    [Fact]
    public void ReadSft_NullMessagesRow_NamesRow()
    {
        using var dir = new TempDir();
        var path = dir.File("chat.parquet");
        Write(path, Batch(MessagesColumn([Chats[0], null, Chats[2]], new MessagesLayout())));

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadSft(path));
        Assert.Equal($"{path}: row 1: column 'messages' is null or empty", e.Message);
    }

    [Fact]
    public void ReadSft_PromptResponse_PreferencesAndPrompts_FromArrow()
    {
        using var dir = new TempDir();
        var sft = dir.File("sft.parquet");
        Write(sft, Batch(TextColumn("prompt", ["题一", "题二"], TextKind.LargeString), TextColumn("response", ["诗一", "诗二"])));
        var prefs = dir.File("prefs.parquet");
        Write(prefs, Batch(TextColumn("prompt", ["p"]), TextColumn("chosen", ["c"], TextKind.Binary), TextColumn("rejected", ["r"], nullable: true)),
            new Layout(Compression.Zstd, Dictionary: false));
        var prompts = dir.File("prompts.parquet");
        Write(prompts, Batch(TextColumn("prompt", ["写诗", "再写"]), TextColumn("form", ["五言绝句", null])));

        Assert.Equal([new ConversationTurn("user", "题二"), new ConversationTurn("assistant", "诗二")], ParquetDatasets.ReadSft(sft)[1].Messages);
        Assert.Equal(new PreferenceExample("p", "c", "r"), Assert.Single(ParquetDatasets.ReadPreferences(prefs)));
        var read = ParquetDatasets.ReadPrompts(prompts, "form");
        Assert.Equal(["五言绝句", null], read.Select(p => p.Get("form")));
    }

    [Fact]
    public void UnsupportedLayouts_NameTheColumnAndItsType()
    {
        using var dir = new TempDir();
        var ints = dir.File("ints.parquet");
        Write(ints, Batch((new Field("text", Int32Type.Default, false), new Int32Array.Builder().Append(1).Build())));
        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(ints).ToList());
        Assert.Equal($"{ints}: column 'text' must be a string column, but it is physical type INT32", e.Message);

        var listOfStrings = dir.File("list.parquet");
        var listType = new ListType(new Field("element", StringType.Default, true));
        // A fresh array per file: exporting one to Arrow C++ hands its buffers over.
        ListArray List() => new(listType, 1, new ArrowBuffer.Builder<int>().Append(0).Append(1).Build(),
            new StringArray.Builder().Append("hi").Build(), ArrowBuffer.Empty, 0);
        Write(listOfStrings, Batch((new Field("messages", listType, true), List())));
        e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadSft(listOfStrings));
        Assert.Equal($"{listOfStrings}: column 'messages' must be a list of structs with fields 'role' and 'content', but it is a list of physical type BYTE_ARRAY (STRING)", e.Message);
        Write(listOfStrings, Batch((new Field("text", listType, true), List())));
        e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(listOfStrings).ToList());
        Assert.Contains("column 'text' must be a string column, but it is a list of", e.Message);
    }
}
