using System.Text.Json.Serialization;

namespace MiniLlmPipeline.Model;

/// <summary>The <c>model:</c> block of a pipeline spec: the shape of the GPT every stage shares.</summary>
public sealed record ModelSpec
{
    public int DModel { get; init; } = 256;
    public int NLayers { get; init; } = 6;
    public int NHeads { get; init; } = 8;
    public int NKvHeads { get; init; } = 4;
    public int FfnHidden { get; init; } = 704;
    public int MaxSeqLen { get; init; } = 256;
    public double RopeTheta { get; init; } = 10000;
    /// <summary>
    /// dtype of the weight matmuls: <c>fp32</c>, <c>bf16</c> mixed precision (fp32 master weights, bf16
    /// GEMMs), or <c>auto</c>: bf16 on CPUs with native bf16 (AVX-512 BF16 / AMX), where it measured
    /// 1.2–1.7× faster training at the same loss (bench/README.md), else fp32.
    /// </summary>
    public string MatmulDtype { get; init; } = "auto";
    /// <summary>
    /// Dropout rate p (Srivastava et al. 2014) on the token embeddings, the attention probabilities and each residual
    /// branch (attention and MLP outputs before they join the residual stream), as in GPT-2 / nanoGPT; training mode
    /// only. A training setting rather than a shape: every training stage of this spec uses it, also one that continues
    /// from a checkpoint trained with another rate. Left out of the spec hash at its default 0, so runs made before the
    /// key existed stay up to date.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double Dropout { get; init; }

    /// <summary>Range and shape problems as (key, problem); empty when valid.</summary>
    public IEnumerable<(string Key, string Problem)> Problems()
    {
        if (DModel <= 0) yield return ("d_model", "must be positive");
        if (NLayers <= 0) yield return ("n_layers", "must be positive");
        if (NHeads <= 0) yield return ("n_heads", "must be positive");
        else if (DModel % NHeads != 0) yield return ("n_heads", $"must divide d_model ({DModel})");
        else if (DModel / NHeads % 2 != 0) yield return ("n_heads", "d_model / n_heads must be even for rotary embeddings");
        if (NKvHeads <= 0 || (NHeads > 0 && NHeads % NKvHeads != 0)) yield return ("n_kv_heads", $"must be positive and divide n_heads ({NHeads})");
        if (FfnHidden <= 0) yield return ("ffn_hidden", "must be positive");
        if (MaxSeqLen < 8) yield return ("max_seq_len", "must be at least 8");
        if (RopeTheta <= 0) yield return ("rope_theta", "must be positive");
        if (MatmulDtype is not ("fp32" or "bf16" or "auto")) yield return ("matmul_dtype", "must be fp32, bf16 or auto");
        if (!(Dropout is >= 0 and < 1)) yield return ("dropout", "must be a number in [0, 1)");
    }
}
