using System.Text;
using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

public class SafetensorsTests
{
    [Fact]
    public void Write_ProducesTheExactSafetensorsBytes()
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>
        {
            ["b"] = tensor(new float[] { 1, 2 }),
            ["a"] = tensor(new float[] { 3 }).reshape(1, 1),
        };
        var stream = new MemoryStream();
        Safetensors.Write(stream, tensors);

        const string json = """{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""";
        Assert.Equal(141, json.Length); // padded with 3 spaces to 144
        var expected = new List<byte>(BitConverter.GetBytes(144UL));
        expected.AddRange(Encoding.ASCII.GetBytes(json + "   "));
        expected.AddRange(new float[] { 3, 1, 2 }.SelectMany(BitConverter.GetBytes));
        Assert.Equal(expected.ToArray(), stream.ToArray());
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void SaveThenLoad_RoundTripsNamesShapesAndValues(ScalarType dtype)
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var original = new Dictionary<string, Tensor>
        {
            ["model.embed_tokens.weight"] = tensor(new float[] { 1.5f, -2, 0.25f, 8, 0, -0.5f }).reshape(2, 3),
            ["model.norm.weight"] = tensor(new float[] { 1, 3 }),
        };
        Safetensors.Save(dir.File("w.safetensors"), original, dtype);
        var loaded = Safetensors.Load(dir.File("w.safetensors"));
        Assert.Equal(original.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, value) in original)
        {
            Assert.Equal(dtype, loaded[name].dtype);
            Assert.Equal(value.shape, loaded[name].shape);
            Assert.Equal(value.data<float>().ToArray(), loaded[name].to(float32).data<float>().ToArray());
        }
    }

    [Fact]
    public void Load_TruncatedFile_IsAStageInputErrorNamingTheFile()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var path = dir.File("w.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = ones(4) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        var error = Assert.Throws<StageInputException>(() => Safetensors.Load(path));
        Assert.StartsWith(path + ": not a valid safetensors file", error.Message);
    }
}
