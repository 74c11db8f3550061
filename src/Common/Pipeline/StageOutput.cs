namespace MiniLlmPipeline.Pipeline;

/// <summary>What a stage leaves in its folder, which decides what other stages may name it for (<c>from:</c>, <c>reward_model:</c>).</summary>
public enum StageOutput
{
    /// <summary>A tokenizer and token files (tokenize).</summary>
    Tokenizer,
    /// <summary>A language-model checkpoint that can be fine-tuned, aligned, evaluated and sampled.</summary>
    Policy,
    /// <summary>A checkpoint with a scalar head that scores answers.</summary>
    RewardModel,
    /// <summary>A report about other stages (eval).</summary>
    Report,
}
