using TorchSharp;

namespace MiniLlmPipeline.Training;

/// <summary>
/// A model in eval mode with gradients off for a scope, and back in the mode it was in afterwards:
/// <c>using var inference = InferenceMode.Enter(model);</c>. Evaluation and generation run mid-training
/// (SFT's before/after check, the trainer's eval), so they must not leave a training model in eval mode.
/// </summary>
public sealed class InferenceMode : IDisposable
{
    private readonly torch.nn.Module _model;
    private readonly bool _wasTraining;
    private readonly IDisposable _noGrad;

    private InferenceMode(torch.nn.Module model)
    {
        _model = model;
        _wasTraining = model.training;
        model.eval();
        _noGrad = torch.no_grad();
    }

    public static InferenceMode Enter(torch.nn.Module model) => new(model);

    public void Dispose()
    {
        _noGrad.Dispose();
        if (_wasTraining) _model.train();
    }
}
