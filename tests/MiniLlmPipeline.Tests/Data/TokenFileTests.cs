using MiniLlmPipeline.Data;

namespace MiniLlmPipeline.Tests.Data;

public sealed class TokenFileTests
{
    [Theory]
    [InlineData(300)]      // uint16 ids
    [InlineData(70000)]    // uint32 ids
    public void WriteThenRead_ReturnsTheSameIds(int vocab)
    {
        using var temp = new TempDir();
        var path = Path.Combine(temp.Path, "train.bin");
        int[] ids = [0, 1, vocab - 1, 42, 7, vocab / 2];
        TokenFile.Write(path, ids, vocab);

        using var file = TokenFile.Open(path);
        Assert.Equal(vocab, file.VocabSize);
        Assert.Equal(ids.Length, file.Count);
        var window = new long[3];
        file.Read(2, window);
        Assert.Equal([vocab - 1, 42, 7], window);
        Assert.Equal(TokenFile.HeaderBytes + ids.Length * (vocab <= 65536 ? 2 : 4), new FileInfo(path).Length);
    }

    [Fact]
    public void Write_RejectsIdsOutsideTheVocabulary_AndLeavesNoFile()
    {
        using var temp = new TempDir();
        var path = Path.Combine(temp.Path, "train.bin");
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenFile.Write(path, [1, 300], 300));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(temp.Path));
    }

    [Fact]
    public void Open_RejectsAFileThatIsNotATokenFile()
    {
        using var temp = new TempDir();
        var path = Path.Combine(temp.Path, "x.bin");
        File.WriteAllText(path, "this is not a token file at all");
        var error = Assert.Throws<DatasetException>(() => TokenFile.Open(path));
        Assert.Contains(path, error.Message);
    }
}
