using TorchSharp;

namespace MiniLlmPipeline.Rlhf;

/// <summary>A model an RL stage only reads (the frozen reference, the reward model): no gradients, inference mode.</summary>
public static class FrozenModel
{
    public static T Freeze<T>(T model) where T : torch.nn.Module
    {
        foreach (var parameter in model.parameters()) parameter.requires_grad = false;
        model.eval();
        return model;
    }
}
