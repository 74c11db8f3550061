using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Training;

/// <summary>
/// AdamW parameter groups with decoupled weight decay (Loshchilov &amp; Hutter, 2019) on matrix
/// weights only: norms' gains (1-D) and the token embedding are left undecayed, as in GPT-style recipes.
/// </summary>
public static class ParameterGroups
{
    public static bool Decays(string name, Parameter parameter) =>
        parameter.dim() >= 2 && !name.Contains("embed", StringComparison.Ordinal);

    public static AdamW CreateAdamW(nn.Module model, double lr, double weightDecay, double beta1, double beta2)
    {
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var decay = trainable.Where(p => Decays(p.name, p.parameter)).Select(p => p.parameter).ToList();
        var noDecay = trainable.Where(p => !Decays(p.name, p.parameter)).Select(p => p.parameter).ToList();
        var groups = new List<AdamW.ParamGroup>
        {
            new(decay, new AdamW.Options { LearningRate = lr, weight_decay = weightDecay, beta1 = beta1, beta2 = beta2 }),
            new(noDecay, new AdamW.Options { LearningRate = lr, weight_decay = 0, beta1 = beta1, beta2 = beta2 }),
        };
        return optim.AdamW(groups, lr, beta1, beta2, 1e-8, weightDecay);
    }
}
