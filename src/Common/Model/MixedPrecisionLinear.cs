using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// A bias-free linear layer y = x·Wᵀ whose fp32 weight is multiplied in the model's matmul dtype
/// (<see cref="MixedPrecision"/>). The parameter is named <c>weight</c>, as nn.Linear's, so
/// checkpoint names stay Hugging Face's (<c>q_proj.weight</c>, ...).
/// </summary>
public sealed class MixedPrecisionLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly ScalarType computeDtype;

    public MixedPrecisionLinear(int inFeatures, int outFeatures, ScalarType computeDtype) : base(nameof(MixedPrecisionLinear))
    {
        // Gpt initialises every weight (N(0, 0.02)); zeros here only fix the shape.
        weight = new Parameter(torch.zeros(outFeatures, inFeatures));
        this.computeDtype = computeDtype;
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor x) => MixedPrecision.Linear(x, weight, computeDtype); // (..., in) → (..., out)
}
