using MiniLlmPipeline.Data;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using System.Text.Json.Serialization;

namespace MiniLlmPipeline.Tests.Data;

public class ParquetDatasetsTests
{
    internal static async Task WriteStringsAsync(string path, ParquetOptions options, int rowGroupSize,
        params (string Name, string?[] Values)[] columns)
    {
        var fields = columns.Select(c => new DataField(c.Name, typeof(string), isNullable: true)).ToArray();
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, options);
        for (var start = 0; start < columns[0].Values.Length; start += rowGroupSize)
        {
            using var group = writer.CreateRowGroup();
            for (var c = 0; c < columns.Length; c++)
                await group.WriteAsync(fields[c], columns[c].Values.Skip(start).Take(rowGroupSize).ToArray(), null);
        }
    }

    [Theory]
    [InlineData(CompressionMethod.Snappy, 1.0)]
    [InlineData(CompressionMethod.Zstd, 1.0)]
    [InlineData(CompressionMethod.Gzip, 0.0)]
    [InlineData(CompressionMethod.None, 0.8)]
    public async Task ReadText_HandlesCompressionEncodingsAndRowGroups(CompressionMethod compression, double dictionaryThreshold)
    {
        using var dir = new TempDir();
        var path = dir.File("text.parquet");
        // Repeated values make dictionary encoding kick in when the threshold allows it.
        var texts = Enumerable.Range(0, 25).Select(i => i % 3 == 0 ? "床前明月光" : $"poem {i} 疑是地上霜").ToArray();
        await WriteStringsAsync(path, new ParquetOptions { CompressionMethod = compression, DictionaryEncodingThreshold = dictionaryThreshold },
            rowGroupSize: 7, ("text", texts));

        Assert.Equal(texts, ParquetDatasets.ReadText(path).ToArray());
    }

    [Fact]
    public async Task ReadPreferences_ReturnsRowsInOrder()
    {
        using var dir = new TempDir();
        var path = dir.File("prefs.parquet");
        await WriteStringsAsync(path, new ParquetOptions(), 2,
            ("prompt", ["p1", "p2", "p3"]), ("chosen", ["c1", "c2", "c3"]), ("rejected", ["r1", "r2", "r3"]));

        var rows = ParquetDatasets.ReadPreferences(path);
        Assert.Equal([new PreferenceExample("p1", "c1", "r1"), new("p2", "c2", "r2"), new("p3", "c3", "r3")], rows);
    }

    [Fact]
    public void WriteStrings_RoundTripsPromptsWithExtraColumns()
    {
        using var dir = new TempDir();
        var path = dir.File("prompts.parquet");
        ParquetDatasets.WriteStrings(path, [("prompt", ["写一首五绝", "写一首七律"]), ("form", ["五绝", "七律"])]);

        var prompts = ParquetDatasets.ReadPrompts(path, "form");
        Assert.Equal(["写一首五绝", "写一首七律"], prompts.Select(p => p.Prompt));
        Assert.Equal(["五绝", "七律"], prompts.Select(p => p.Get("form")));
    }

    [Fact]
    public void ReadSft_FromPromptResponse_BuildsUserAndAssistantTurns()
    {
        using var dir = new TempDir();
        var path = dir.File("sft.parquet");
        ParquetDatasets.WriteStrings(path, [("prompt", ["题"]), ("response", ["诗"])]);

        var example = Assert.Single(ParquetDatasets.ReadSft(path));
        Assert.Equal([new ConversationTurn("user", "题"), new ConversationTurn("assistant", "诗")], example.Messages);
    }

    // Written with its own row types, so the test pins the on-disk column names
    // (messages / role / content) independently of the reader's mapping.
    private sealed class Turn
    {
        [JsonPropertyName("role")] public string? Role { get; set; }
        [JsonPropertyName("content")] public string? Content { get; set; }
    }

    private sealed class Conversation
    {
        [JsonPropertyName("messages")] public List<Turn>? Messages { get; set; }
    }

    [Fact]
    public async Task ReadSft_FromMessagesListOfStruct_KeepsAllTurns()
    {
        using var dir = new TempDir();
        var path = dir.File("chat.parquet");
        Conversation[] rows =
        [
            new() { Messages = [new() { Role = "system", Content = "你是诗人" }, new() { Role = "user", Content = "写诗" }, new() { Role = "assistant", Content = "春眠不觉晓" }] },
            new() { Messages = [new() { Role = "user", Content = "a" }, new() { Role = "assistant", Content = "b" }, new() { Role = "user", Content = "c" }, new() { Role = "assistant", Content = "d" }] },
        ];
        await ParquetSerializer.SerializeAsync(rows, path);

        var examples = ParquetDatasets.ReadSft(path);
        Assert.Equal(2, examples.Count);
        Assert.Equal(["system", "user", "assistant"], examples[0].Messages.Select(m => m.Role));
        Assert.Equal("春眠不觉晓", examples[0].Messages[2].Content);
        Assert.Equal(4, examples[1].Messages.Count);
    }

    [Fact]
    public void MissingColumn_NamesFileAndColumn()
    {
        using var dir = new TempDir();
        var path = dir.File("prefs.parquet");
        ParquetDatasets.WriteStrings(path, [("prompt", ["p"]), ("chosen", ["c"])]);

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadPreferences(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("missing column 'rejected'", e.Message);
        Assert.Contains("found columns: prompt, chosen", e.Message);
    }

    [Fact]
    public async Task NullCell_NamesRowAndColumn()
    {
        using var dir = new TempDir();
        var path = dir.File("text.parquet");
        await WriteStringsAsync(path, new ParquetOptions(), 10, ("text", ["ok", null, "ok"]));

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(path).ToList());
        Assert.Contains("row 1: column 'text' is null", e.Message);
    }

    [Fact]
    public async Task EmptyDataset_IsRejected()
    {
        using var dir = new TempDir();
        var path = dir.File("empty.parquet");
        await WriteStringsAsync(path, new ParquetOptions(), 10, ("text", []));

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(path).ToList());
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void NotParquet_IsRejectedWithFileName()
    {
        using var dir = new TempDir();
        var path = dir.Write("fake.parquet", "this is not parquet at all");

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(path).ToList());
        Assert.Contains(path, e.Message);
        Assert.Contains("not a readable Parquet file", e.Message);
    }

    [Fact]
    public async Task WrongColumnType_IsRejected()
    {
        using var dir = new TempDir();
        var path = dir.File("ints.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new IntRow { Text = 1 } }, path);

        var e = Assert.Throws<DatasetException>(() => ParquetDatasets.ReadText(path).ToList());
        Assert.Contains("column 'text' must be a string column", e.Message);
    }

    private sealed class IntRow
    {
        [JsonPropertyName("text")] public int Text { get; set; }
    }
}
