using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>SwiGLU feed-forward (Shazeer, 2020, eq. 6): down(silu(gate(x)) ⊙ up(x)).</summary>
public sealed class SwiGluMlp : nn.Module<Tensor, Tensor>
{
    // Field names are the Hugging Face Llama parameter names.
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    public SwiGluMlp(int dModel, int ffnHidden) : base(nameof(SwiGluMlp))
    {
        gate_proj = nn.Linear(dModel, ffnHidden, hasBias: false);
        up_proj = nn.Linear(dModel, ffnHidden, hasBias: false);
        down_proj = nn.Linear(ffnHidden, dModel, hasBias: false);
        RegisterComponents();
    }

    /// <summary>The projection that writes into the residual stream (scaled at init).</summary>
    internal Linear OutputProjection => down_proj;

    public override Tensor forward(Tensor x) // (B, T, C)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x); // (B, T, F)
        return down_proj.forward(hidden).MoveToOuterDisposeScope();                  // (B, T, C)
    }
}
