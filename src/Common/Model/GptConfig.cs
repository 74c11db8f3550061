using MiniLlmPipeline.Pipeline;

namespace MiniLlmPipeline.Model;

/// <summary>The shape of the GPT: the spec's <c>model:</c> block plus the tokenizer's vocabulary size.</summary>
public sealed record GptConfig(
    int VocabSize,
    int DModel,
    int NLayers,
    int NHeads,
    int NKvHeads,
    int FfnHidden,
    int MaxSeqLen,
    double RopeTheta,
    double NormEps = 1e-5)
{
    /// <summary>Width of one attention head.</summary>
    public int HeadDim => DModel / NHeads;

    public static GptConfig From(ModelSpec spec, int vocabSize) =>
        new(vocabSize, spec.DModel, spec.NLayers, spec.NHeads, spec.NKvHeads, spec.FfnHidden, spec.MaxSeqLen, spec.RopeTheta);
}
