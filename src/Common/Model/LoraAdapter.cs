using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// The low-rank update of one frozen projection (Hu et al. 2021, eq. 3): h = W₀x + (α/r)·B·A·dropout(x), with
/// A (r × in) drawn as PEFT draws it (kaiming-uniform with a = √5, i.e. U(−1/√in, 1/√in)) and B (out × r) zero, so the
/// adapted model starts exactly at the base model. Parameters are named <c>lora_A</c> and <c>lora_B</c>, which PEFT's
/// adapter file spells <c>lora_A.weight</c> (<see cref="PeftAdapterFiles"/>).
/// </summary>
public sealed class LoraAdapter : nn.Module
{
    // Field names are the parameter names.
    private readonly Parameter lora_A;
    private readonly Parameter lora_B;
    private readonly ScalarType computeDtype;

    public LoraAdapter(int inFeatures, int outFeatures, LoraConfig config, ScalarType computeDtype, Device device, Generator generator)
        : base(nameof(LoraAdapter))
    {
        var bound = 1 / Math.Sqrt(inFeatures);
        lora_A = new Parameter(torch.empty(config.Rank, inFeatures, device: device).uniform_(-bound, bound, generator));
        lora_B = new Parameter(torch.zeros(outFeatures, config.Rank, device: device));
        (Rank, Alpha, Dropout, Scaling, this.computeDtype) = (config.Rank, config.Alpha, config.Dropout, config.Scaling, computeDtype);
        RegisterComponents();
    }

    public int Rank { get; }
    public double Alpha { get; }
    public double Dropout { get; }
    /// <summary>α / r.</summary>
    public double Scaling { get; }
    /// <summary>False while the model serves as its own frozen reference (<see cref="LoraAdapters.Disable"/>).</summary>
    public bool Enabled { get; internal set; } = true;

    public Parameter A => lora_A;
    public Parameter B => lora_B;

    /// <summary>
    /// y + (α/r)·B·A·dropout(x) for the base layer's output y (…, out) and its input x (…, in), added into y in place, in
    /// the base layer's matmul dtype so y keeps its dtype; the scale rides on the add (one op fewer per layer).
    /// </summary>
    public Tensor AddTo(Tensor y, Tensor x)
    {
        // add_ hands back a second handle to y, which the scope frees; y itself lives on in the caller's scope.
        using var scope = torch.NewDisposeScope();
        var input = Dropout > 0 ? nn.functional.dropout(x, Dropout, training) : x;
        var down = MixedPrecision.Linear(input, lora_A, computeDtype);     // (…, r)
        y.add_(MixedPrecision.Linear(down, lora_B, computeDtype), Scaling); // (…, out)
        return y;
    }

    /// <summary>The merged weight W₀ + (α/r)·B·A (out × in), for a checkpoint that needs no adapter to load.</summary>
    public Tensor Merge(Tensor baseWeight)
    {
        using var noGrad = torch.no_grad();
        return baseWeight + torch.matmul(lora_B, lora_A) * Scaling;
    }
}
