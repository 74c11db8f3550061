using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

[Collection(GlobalGeneratorTests.Name)]
public class MixedPrecisionTests
{
    private static readonly GptConfig Bf16Config = TinyModels.Config with { MatmulDtype = ScalarType.BFloat16 };

    [Fact]
    public void Bf16Matmuls_GiveLogitsWithinTolerance_OfFp32_WithTheSameWeights()
    {
        using var scope = NewDisposeScope();
        using var fp32 = TinyModels.Create(seed: 3);
        using var bf16 = TinyModels.Create(seed: 3, Bf16Config);
        var ids = TinyModels.RandomIds(2, 12);
        using var noGrad = no_grad();
        var expected = fp32.forward(ids);
        var actual = bf16.forward(ids);

        Assert.Equal(ScalarType.Float32, actual.dtype);
        var error = (actual - expected).abs().max().item<float>();
        var scale = expected.abs().max().item<float>();
        // bf16 keeps 8 significant bits (relative rounding 2⁻⁹ ≈ 0.2%); through two layers and the head a few
        // roundings add up, so allow 3% of the logits' range — and require that bf16 was really used.
        Assert.InRange(error, 1e-7f, 0.03f * scale);
    }

    [Fact]
    public void Bf16Training_KeepsFp32MasterWeightsAndGradients()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create(seed: 3, Bf16Config);
        model.train();
        var ids = TinyModels.RandomIds(2, 8);
        var logits = model.forward(ids);
        NextTokenCrossEntropy.Compute(logits, ids).backward();

        foreach (var (name, parameter) in model.named_parameters())
        {
            Assert.True(parameter.dtype == ScalarType.Float32, $"{name} is {parameter.dtype}");
            Assert.True(parameter.grad is { dtype: ScalarType.Float32 }, $"{name}'s gradient is missing or not fp32");
        }
    }

    [Fact]
    public void Suspend_RunsABf16ModelInFp32_UntilDisposed()
    {
        using var scope = NewDisposeScope();
        using var fp32 = TinyModels.Create(seed: 5);
        using var bf16 = TinyModels.Create(seed: 5, Bf16Config);
        var ids = TinyModels.RandomIds(1, 10);
        using var noGrad = no_grad();
        using (MixedPrecision.Suspend())
            Assert.True(bf16.forward(ids).eq(fp32.forward(ids)).all().item<bool>());
        Assert.False(bf16.forward(ids).eq(fp32.forward(ids)).all().item<bool>());
    }

    [Fact]
    public void MatmulDtype_RoundTripsThroughTheCheckpointConfig()
    {
        using var dir = new TempDir();
        using var model = TinyModels.Create(config: Bf16Config);
        ModelCheckpoint.Save(dir.File("stage"), model, null);
        Assert.Equal(ScalarType.BFloat16, ModelCheckpoint.ReadConfig(dir.File("stage")).MatmulDtype);
    }

    [Fact]
    public void ModelSpec_AcceptsFp32Bf16AndAuto_AndRejectsOtherMatmulDtypes()
    {
        Assert.Empty(new ModelSpec { MatmulDtype = "bf16" }.Problems());
        Assert.Equal(ScalarType.BFloat16, GptConfig.From(new ModelSpec { MatmulDtype = "bf16" }, 50).MatmulDtype);
        Assert.Contains(new ModelSpec { MatmulDtype = "fp16" }.Problems(), p => p.Key == "matmul_dtype");
        var auto = GptConfig.From(new ModelSpec { MatmulDtype = "auto" }, 50).MatmulDtype;
        Assert.Equal(MixedPrecision.CpuHasNativeBf16 ? ScalarType.BFloat16 : ScalarType.Float32, auto);
    }
}
