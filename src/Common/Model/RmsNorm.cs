using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Root-mean-square layer norm (Zhang &amp; Sennrich, 2019): x / sqrt(mean(x²) + eps) · g.
/// No mean subtraction and no bias, as in Llama.
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(int dim, double eps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(torch.ones(dim));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) // (..., C)
    {
        if (RowKernels.Accepts(x, weight)) return FusedRmsNorm.Apply(x, weight, eps);
        using var scope = torch.NewDisposeScope();
        var rms = x.pow(2).mean([-1], keepdim: true).add_(eps).rsqrt_(); // (..., 1)
        return (x * rms * weight).MoveToOuterDisposeScope();
    }
}
