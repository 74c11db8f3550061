using MiniLlmPipeline.Data;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Tokenization;

public sealed class ChatTemplateTests
{
    private static readonly TextTokenizer Tokenizer = TokenizerCorpus.ChatTokenizer;

    private static (int[] Ids, bool[] Mask) Expected(params (string Role, string Content)[] turns)
    {
        var ids = new List<int>();
        var mask = new List<bool>();
        void Add(IEnumerable<int> tokens, bool learn)
        {
            foreach (var t in tokens) { ids.Add(t); mask.Add(learn); }
        }
        foreach (var (role, content) in turns)
        {
            Add([Tokenizer.ImStartId, .. Tokenizer.Encode(role + "\n")], false);
            Add([.. Tokenizer.Encode(content), Tokenizer.ImEndId], role == "assistant");
            Add(Tokenizer.Encode("\n"), false);
        }
        return ([.. ids], [.. mask]);
    }

    [Fact]
    public void Render_SingleTurn_MasksExactlyTheAssistantContentAndItsEnd()
    {
        var chat = ChatTemplate.Render(Tokenizer, [new("user", "写一首诗"), new("assistant", "床前明月光")]);

        var (ids, mask) = Expected(("user", "写一首诗"), ("assistant", "床前明月光"));
        Assert.Equal(ids, chat.Ids);
        Assert.Equal(mask, chat.LossMask);
        Assert.Equal("<|im_start|>user\n写一首诗<|im_end|>\n<|im_start|>assistant\n床前明月光<|im_end|>\n", Tokenizer.Decode(chat.Ids));
        var learned = chat.Ids.Where((_, i) => chat.LossMask[i]).ToArray();
        Assert.Equal([.. Tokenizer.Encode("床前明月光"), Tokenizer.ImEndId], learned);
    }

    [Fact]
    public void Render_MultiTurn_MasksEveryAssistantTurnAndNothingElse()
    {
        ConversationTurn[] turns =
        [
            new("system", "你是诗人"), new("user", "春"), new("assistant", "春眠不觉晓"),
            new("user", "再来"), new("assistant", "处处闻啼鸟"),
        ];
        var chat = ChatTemplate.Render(Tokenizer, turns);

        var (ids, mask) = Expected([.. turns.Select(t => (t.Role, t.Content))]);
        Assert.Equal(ids, chat.Ids);
        Assert.Equal(mask, chat.LossMask);
        Assert.Equal(string.Concat(turns.Select(t => $"<|im_start|>{t.Role}\n{t.Content}<|im_end|>\n")), Tokenizer.Decode(chat.Ids));
        Assert.Equal("春眠不觉晓<|im_end|>处处闻啼鸟<|im_end|>", Tokenizer.Decode(chat.Ids.Where((_, i) => chat.LossMask[i])));
    }

    [Fact]
    public void RenderPrompt_IsTheUserTurnFollowedByTheAssistantHeader()
    {
        var ids = ChatTemplate.RenderPrompt(Tokenizer, "写一首诗");

        Assert.Equal("<|im_start|>user\n写一首诗<|im_end|>\n<|im_start|>assistant\n", Tokenizer.Decode(ids));
        Assert.Equal(ChatTemplate.Render(Tokenizer, [new("user", "写一首诗")]).Ids, ids.Take(ids.Length - 1 - Tokenizer.Encode("assistant\n").Count));
    }
}
