using MiniLlmPipeline.Model;

namespace MiniLlmPipeline.Rlhf;

/// <summary>
/// The frozen reference π_ref an RL stage measures its KL against (PPO, GRPO). With LoRA it is the policy itself: its
/// base weights are frozen and never change, so the policy with its adapters switched off
/// (<c>using (LoraAdapters.Disable(reference.Model))</c> around each reference forward) is exactly π_ref, and no second
/// copy of the weights is held. Without LoRA it is a frozen copy of the starting checkpoint, which this object owns;
/// <see cref="LoraAdapters.Disable"/> is then a no-op, so the stage's code is the same either way.
/// </summary>
public sealed class FrozenReference : IDisposable
{
    private readonly bool _owned;

    private FrozenReference(Gpt model, bool owned) => (Model, _owned) = (model, owned);

    public Gpt Model { get; }

    /// <summary>Whether the reference shares the policy's weights (LoRA) instead of holding its own copy.</summary>
    public bool SharesPolicyWeights => !_owned;

    /// <summary>The policy itself when it carries adapters, else a frozen copy loaded by <paramref name="loadCopy"/>.</summary>
    public static FrozenReference For(Gpt policy, Func<Gpt> loadCopy) =>
        LoraAdapters.Has(policy) ? new(policy, owned: false) : new(FrozenModel.Freeze(loadCopy()), owned: true);

    public void Dispose()
    {
        if (_owned) Model.Dispose();
    }
}
