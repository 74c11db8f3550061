using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>
/// Pre-norm residual block: x + attn(norm(x)), then + mlp(norm(x)); in training with dropout p each branch is dropped out
/// before it joins the residual stream (GPT-2's resid_pdrop; Vaswani et al. 2017 §5.4).
/// </summary>
public sealed class TransformerBlock : nn.Module
{
    // Field names are the Hugging Face Llama parameter names.
    private readonly RmsNorm input_layernorm;
    private readonly CausalSelfAttention self_attn;
    private readonly RmsNorm post_attention_layernorm;
    private readonly SwiGluMlp mlp;
    private readonly double dropout;

    public TransformerBlock(GptConfig config) : base(nameof(TransformerBlock))
    {
        input_layernorm = new RmsNorm(config.DModel, config.NormEps);
        self_attn = new CausalSelfAttention(config);
        post_attention_layernorm = new RmsNorm(config.DModel, config.NormEps);
        mlp = new SwiGluMlp(config.DModel, config.FfnHidden, config.MatmulDtype);
        dropout = config.Dropout;
        RegisterComponents();
    }

    internal CausalSelfAttention Attention => self_attn;

    internal SwiGluMlp Mlp => mlp;

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, bool isCausal, KvCache? cache, int layer) // (B, T, C)
    {
        using var scope = torch.NewDisposeScope();
        x = x + ResidualDropout(self_attn.Forward(input_layernorm.forward(x), cos, sin, mask, isCausal, cache, layer));
        x = x + ResidualDropout(mlp.forward(post_attention_layernorm.forward(x)));
        return x.MoveToOuterDisposeScope(); // (B, T, C)
    }

    private Tensor ResidualDropout(Tensor branch) =>
        training && dropout > 0 ? nn.functional.dropout(branch, dropout, training: true) : branch;
}
