using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// The shape of the GPT: the spec's <c>model:</c> block plus the tokenizer's vocabulary size, and the
/// dtype its weight matmuls run in (<see cref="MixedPrecision"/>; weights are always stored fp32).
/// <see cref="TieWordEmbeddings"/> false gives the model its own output matrix (<c>lm_head.weight</c>), as in a
/// Hugging Face Llama folder that unties it; every model this project trains from scratch is tied.
/// <see cref="Dropout"/> acts in training mode only (<see cref="ModelSpec.Dropout"/>); at 0 the forward pass has no extra op.
/// </summary>
public sealed record GptConfig(
    int VocabSize,
    int DModel,
    int NLayers,
    int NHeads,
    int NKvHeads,
    int FfnHidden,
    int MaxSeqLen,
    double RopeTheta,
    double NormEps = 1e-5,
    ScalarType MatmulDtype = ScalarType.Float32,
    bool TieWordEmbeddings = true,
    double Dropout = 0)
{
    /// <summary>Width of one attention head.</summary>
    public int HeadDim => DModel / NHeads;

    public static GptConfig From(ModelSpec spec, int vocabSize) =>
        new(vocabSize, spec.DModel, spec.NLayers, spec.NHeads, spec.NKvHeads, spec.FfnHidden, spec.MaxSeqLen, spec.RopeTheta,
            MatmulDtype: ParseMatmulDtype(spec.MatmulDtype), Dropout: spec.Dropout);

    /// <summary>
    /// The spec's / config.json's name of a matmul dtype: <c>fp32</c>, <c>bf16</c>, or <c>auto</c> =
    /// bf16 where the CPU multiplies it natively (<see cref="MixedPrecision.CpuHasNativeBf16"/>), else fp32.
    /// </summary>
    public static ScalarType ParseMatmulDtype(string name) => name switch
    {
        "fp32" => ScalarType.Float32,
        "bf16" => ScalarType.BFloat16,
        "auto" => MixedPrecision.CpuHasNativeBf16 ? ScalarType.BFloat16 : ScalarType.Float32,
        _ => throw new ArgumentException($"unknown matmul dtype '{name}' (fp32 | bf16 | auto)", nameof(name)),
    };

    /// <summary>The name of <see cref="MatmulDtype"/> as written in specs and config.json.</summary>
    public string MatmulDtypeName => MatmulDtype == ScalarType.BFloat16 ? "bf16" : "fp32";
}
