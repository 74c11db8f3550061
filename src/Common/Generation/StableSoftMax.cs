using System.Numerics.Tensors;

namespace MiniLlmPipeline.Generation;

/// <summary>
/// softmax(x) in place, taken as softmax(x − max x): the same values, but exp never overflows. TensorPrimitives.SoftMax
/// exponentiates the inputs as they are, so a logit above ~88 (float32's exp limit) turned every probability into NaN
/// (a confident pretrained model at temperature 1 crashed the sampler; tests: CpuSamplerTests, CpuDecoderTests).
/// </summary>
internal static class StableSoftMax
{
    public static void InPlace(Span<float> x)
    {
        TensorPrimitives.Subtract(x, TensorPrimitives.Max(x), x);
        TensorPrimitives.SoftMax(x, x);
    }
}
