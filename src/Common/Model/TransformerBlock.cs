using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Model;

/// <summary>Pre-norm residual block: x + attn(norm(x)), then + mlp(norm(x)).</summary>
public sealed class TransformerBlock : nn.Module
{
    // Field names are the Hugging Face Llama parameter names.
    private readonly RmsNorm input_layernorm;
    private readonly CausalSelfAttention self_attn;
    private readonly RmsNorm post_attention_layernorm;
    private readonly SwiGluMlp mlp;

    public TransformerBlock(GptConfig config) : base(nameof(TransformerBlock))
    {
        input_layernorm = new RmsNorm(config.DModel, config.NormEps);
        self_attn = new CausalSelfAttention(config);
        post_attention_layernorm = new RmsNorm(config.DModel, config.NormEps);
        mlp = new SwiGluMlp(config.DModel, config.FfnHidden, config.MatmulDtype);
        RegisterComponents();
    }

    internal CausalSelfAttention Attention => self_attn;

    internal SwiGluMlp Mlp => mlp;

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, bool isCausal, KvCache? cache, int layer) // (B, T, C)
    {
        using var scope = torch.NewDisposeScope();
        x = x + self_attn.Forward(input_layernorm.forward(x), cos, sin, mask, isCausal, cache, layer);
        x = x + mlp.forward(post_attention_layernorm.forward(x));
        return x.MoveToOuterDisposeScope(); // (B, T, C)
    }
}
