using MiniLlmPipeline.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniLlmPipeline.Stages.Ppo;

/// <summary>
/// The two models PPO trains, registered as one module so the shared trainer's single AdamW, gradient
/// clipping and resumable state cover both (parameters <c>policy.*</c> and <c>value.*</c>).
/// </summary>
public sealed class PolicyAndValue : nn.Module
{
    public PolicyAndValue(Gpt policy, ScalarHeadModel value) : base(nameof(PolicyAndValue))
    {
        Policy = policy;
        Value = value;
        register_module("policy", policy);
        register_module("value", value);
    }

    /// <summary>The language model being aligned (what the stage exports).</summary>
    public Gpt Policy { get; }

    /// <summary>The critic: V(prompt + response so far) at every position.</summary>
    public ScalarHeadModel Value { get; }
}
