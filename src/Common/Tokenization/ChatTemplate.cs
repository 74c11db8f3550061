using MiniLlmPipeline.Data;

namespace MiniLlmPipeline.Tokenization;

/// <summary>
/// ChatML, the one conversation format of every chat stage (SFT, reward model, DPO, PPO, generation):
/// each turn is <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c>. Role headers and the
/// separators are encoded on their own, so a turn's token boundaries never depend on its neighbours.
/// </summary>
public static class ChatTemplate
{
    /// <summary>The same format as a Hugging Face Jinja chat template, stored in <c>tokenizer_config.json</c>.</summary>
    public const string JinjaTemplate =
        "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /// <summary>
    /// The token ids of a whole conversation and its loss mask: true exactly on the assistant turns'
    /// content tokens and their closing <c>&lt;|im_end|&gt;</c> (what the model must learn to produce, including
    /// when to stop); false on system/user turns, role headers and the newline after each turn.
    /// </summary>
    public static TokenizedSequence Render(TextTokenizer tokenizer, IReadOnlyList<ConversationTurn> turns)
    {
        var ids = new List<int>();
        var mask = new List<bool>();
        foreach (var turn in turns)
        {
            var learn = turn.Role == "assistant";
            Append(ids, mask, Header(tokenizer, turn.Role), false);
            Append(ids, mask, tokenizer.Encode(turn.Content), learn);
            Append(ids, mask, [tokenizer.ImEndId], learn);
            Append(ids, mask, tokenizer.Encode("\n"), false);
        }
        return new TokenizedSequence([.. ids], [.. mask]);
    }

    /// <summary>What generation is fed for a prompt: the user turn, then the assistant header to continue from.</summary>
    public static int[] RenderPrompt(TextTokenizer tokenizer, string prompt) =>
        RenderPrompt(tokenizer, [new ConversationTurn("user", prompt)]);

    /// <summary>What generation is fed for a conversation so far (ending with a user turn): its turns, then the assistant header.</summary>
    public static int[] RenderPrompt(TextTokenizer tokenizer, IReadOnlyList<ConversationTurn> turns) =>
        [.. Render(tokenizer, turns).Ids, .. Header(tokenizer, "assistant")];

    private static IEnumerable<int> Header(TextTokenizer tokenizer, string role) => [tokenizer.ImStartId, .. tokenizer.Encode(role + "\n")];

    private static void Append(List<int> ids, List<bool> mask, IEnumerable<int> tokens, bool learn)
    {
        foreach (var id in tokens)
        {
            ids.Add(id);
            mask.Add(learn);
        }
    }
}
