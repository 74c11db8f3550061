using MiniLlmPipeline.Alignment;
using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

public class GptTests
{
    [Fact]
    public void Forward_MapsIdsBT_ToLogitsBTV()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        var logits = model.forward(TinyModels.RandomIds(3, 5));
        Assert.Equal(new long[] { 3, 5, TinyModels.Config.VocabSize }, logits.shape);
        Assert.Equal(new long[] { 3, 5, TinyModels.Config.DModel }, model.HiddenStates(TinyModels.RandomIds(3, 5)).shape);
    }

    [Fact]
    public void Logits_AtPositionT_DoNotDependOnLaterTokens()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        var ids = TinyModels.RandomIds(2, 8);
        var changed = ids.clone();
        changed[TensorIndex.Colon, 5] = (ids[TensorIndex.Colon, 5] + 1) % TinyModels.Config.VocabSize;
        using var noGrad = no_grad();
        var before = model.forward(ids);
        var after = model.forward(changed);
        Assert.True(before.narrow(1, 0, 5).eq(after.narrow(1, 0, 5)).all().item<bool>());
        Assert.False(before.narrow(1, 5, 1).allclose(after.narrow(1, 5, 1)));
    }

    [Fact]
    public void ParameterNames_AreHuggingFaceLlamaNames()
    {
        using var model = TinyModels.Create();
        var expected = new List<string> { "model.embed_tokens.weight", "model.norm.weight" };
        for (var i = 0; i < TinyModels.Config.NLayers; i++)
            expected.AddRange(new[]
            {
                "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj",
            }.Select(n => $"model.layers.{i}.{n}.weight"));
        var actual = model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 2 * 8, 32 }, model.get_parameter("model.layers.0.self_attn.k_proj.weight")!.shape);
    }

    [Fact]
    public void ParameterCount_AndFlopsPerToken_MatchHandCount()
    {
        using var model = TinyModels.Create();
        // V·d + L·(2d norms + d·d q + 2·d·(d/2) k,v + d·d o + 3·d·F) + d final norm
        const long perLayer = 2 * 32 + 32 * 32 + 2 * 32 * 16 + 32 * 32 + 3 * 32 * 64;
        const long expected = 50 * 32 + 2 * perLayer + 32;
        Assert.Equal(expected, model.ParameterCount);
        Assert.Equal(6.0 * expected + 12.0 * 2 * 32 * 16, model.FlopsPerToken(16));
    }

    [Fact]
    public void Init_ScalesResidualProjections_ByInverseSqrtTwoLayers()
    {
        var config = TinyModels.Config with { DModel = 128, FfnHidden = 256, NLayers = 8 };
        using var model = TinyModels.Create(config: config);
        var qStd = model.get_parameter("model.layers.0.self_attn.q_proj.weight")!.std().item<float>();
        var oStd = model.get_parameter("model.layers.0.self_attn.o_proj.weight")!.std().item<float>();
        var downStd = model.get_parameter("model.layers.3.mlp.down_proj.weight")!.std().item<float>();
        Assert.InRange(qStd, 0.019, 0.021);
        Assert.InRange(oStd, 0.005 * 0.95, 0.005 * 1.05);
        Assert.InRange(downStd, 0.005 * 0.95, 0.005 * 1.05);
    }

    [Fact]
    public void Loss_Decreases_WhenOverfittingOneTinyBatch()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        model.train();
        var ids = TinyModels.RandomIds(4, 16);
        var inputs = ids.narrow(1, 0, 15);
        var targets = ids.narrow(1, 1, 15);
        using var optimizer = optim.AdamW(model.parameters(), 3e-3);
        var losses = new List<float>();
        for (var step = 0; step < 30; step++)
        {
            using var stepScope = NewDisposeScope();
            var logits = model.forward(inputs);
            var loss = NextTokenCrossEntropy.Compute(logits, targets);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        Assert.InRange(losses[0], Math.Log(50) - 0.3, Math.Log(50) + 0.3);
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss {losses[0]} → {losses[^1]}");
    }

    [Fact]
    public void LeftPaddedRow_GivesTheSameLogits_AsTheUnpaddedSequence()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModels.Create();
        using var noGrad = no_grad();
        var ids = TinyModels.RandomIds(1, 6);
        var padded = cat([zeros(1, 3, dtype: int64), ids], dim: 1);
        var mask = cat([zeros(1, 3, dtype: @bool), ones(1, 6, dtype: @bool)], dim: 1);
        var expected = model.forward(ids);
        var actual = model.Logits(model.HiddenStates(padded, attentionMask: mask)).narrow(1, 3, 6);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5));
        Assert.False(actual.isnan().any().item<bool>());
    }

    [Fact]
    public void ScalarHead_ScoresEveryPosition_AndIsNamedLikeSequenceClassification()
    {
        using var scope = NewDisposeScope();
        using var model = new ScalarHeadModel(TinyModels.Create());
        var scores = model.Scores(TinyModels.RandomIds(2, 7));
        Assert.Equal(new long[] { 2, 7 }, scores.shape);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("score.weight", names);
        Assert.Contains("model.layers.1.mlp.down_proj.weight", names);
        Assert.All(names, n => Assert.True(n == "score.weight" || n.StartsWith("model.", StringComparison.Ordinal), n));
    }

    [Fact]
    public void ScalarHead_OnRightPaddedBatch_ScoresRealTokensAsIfUnpadded()
    {
        using var scope = NewDisposeScope();
        using var model = new ScalarHeadModel(TinyModels.Create());
        using var noGrad = no_grad();
        var ids = TinyModels.RandomIds(1, 4);
        var padded = cat([ids, zeros(1, 2, dtype: int64)], dim: 1);
        var mask = cat([ones(1, 4, dtype: @bool), zeros(1, 2, dtype: @bool)], dim: 1);
        var expected = model.Scores(ids);
        var actual = model.Scores(padded, mask).narrow(1, 0, 4);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5));
    }
}
