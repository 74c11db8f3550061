using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Tests.Model;

public class AttentionTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void GroupedQueryAttentionWithRope_MatchesNaiveLoop(int firstPosition)
    {
        using var scope = NewDisposeScope();
        var config = TinyModels.Config;
        manual_seed(3);
        using var attention = new CausalSelfAttention(config);
        using var rope = new RotaryEmbedding(config.HeadDim, config.MaxSeqLen, config.RopeTheta);
        const int b = 2, t = 5;
        var x = randn(b, t, config.DModel);
        var (cos, sin) = rope.ForRange(firstPosition, t);
        using var noGrad = no_grad();
        var actual = attention.Forward(x, cos, sin, null, isCausal: true, null, 0).data<float>().ToArray();

        var expected = NaiveAttention(attention, x, config, firstPosition);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-5, $"element {i}: naive {expected[i]}, sdpa {actual[i]}");
    }

    /// <summary>
    /// Attention written out with loops: project, rotate each (j, j + D/2) pair by angle p·θ^(−2j/D),
    /// softmax over keys at or before the query, kv head h / (H / Hkv) for query head h, project out.
    /// </summary>
    private static double[] NaiveAttention(CausalSelfAttention attention, Tensor x, GptConfig config, int firstPosition)
    {
        double[,] W(string name)
        {
            var p = attention.get_parameter(name)!;
            var (rows, cols) = ((int)p.shape[0], (int)p.shape[1]);
            var data = p.data<float>().ToArray();
            var m = new double[rows, cols];
            for (var r = 0; r < rows; r++) for (var c = 0; c < cols; c++) m[r, c] = data[r * cols + c];
            return m;
        }
        double[] MatVec(double[,] m, double[] v)
        {
            var result = new double[m.GetLength(0)];
            for (var r = 0; r < result.Length; r++) for (var c = 0; c < v.Length; c++) result[r] += m[r, c] * v[c];
            return result;
        }
        double[] Rotate(double[] v, int heads, int position)
        {
            var d = config.HeadDim;
            var result = (double[])v.Clone();
            for (var h = 0; h < heads; h++)
                for (var j = 0; j < d / 2; j++)
                {
                    var angle = position * Math.Pow(config.RopeTheta, -2.0 * j / d);
                    var (a, c) = (v[h * d + j], v[h * d + j + d / 2]);
                    result[h * d + j] = a * Math.Cos(angle) - c * Math.Sin(angle);
                    result[h * d + j + d / 2] = c * Math.Cos(angle) + a * Math.Sin(angle);
                }
            return result;
        }

        var (wq, wk, wv, wo) = (W("q_proj.weight"), W("k_proj.weight"), W("v_proj.weight"), W("o_proj.weight"));
        var (b, t, c) = ((int)x.shape[0], (int)x.shape[1], (int)x.shape[2]);
        var xs = x.data<float>().ToArray();
        var hd = config.HeadDim;
        var output = new List<double>();
        for (var batch = 0; batch < b; batch++)
        {
            var q = new double[t][];
            var k = new double[t][];
            var v = new double[t][];
            for (var i = 0; i < t; i++)
            {
                var xi = Enumerable.Range(0, c).Select(j => (double)xs[(batch * t + i) * c + j]).ToArray();
                q[i] = Rotate(MatVec(wq, xi), config.NHeads, firstPosition + i);
                k[i] = Rotate(MatVec(wk, xi), config.NKvHeads, firstPosition + i);
                v[i] = MatVec(wv, xi);
            }
            for (var i = 0; i < t; i++)
            {
                var y = new double[config.NHeads * hd];
                for (var h = 0; h < config.NHeads; h++)
                {
                    var kvHead = h / (config.NHeads / config.NKvHeads);
                    var scores = new double[i + 1];
                    for (var s = 0; s <= i; s++)
                        for (var j = 0; j < hd; j++) scores[s] += q[i][h * hd + j] * k[s][kvHead * hd + j] / Math.Sqrt(hd);
                    var max = scores.Max();
                    var weights = scores.Select(z => Math.Exp(z - max)).ToArray();
                    var total = weights.Sum();
                    for (var s = 0; s <= i; s++)
                        for (var j = 0; j < hd; j++) y[h * hd + j] += weights[s] / total * v[s][kvHead * hd + j];
                }
                output.AddRange(MatVec(wo, y));
            }
        }
        return output.ToArray();
    }
}
