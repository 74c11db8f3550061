using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Tokenization;

/// <summary>Small mixed corpora and awkward strings shared by the tokenizer tests.</summary>
internal static class TokenizerCorpus
{
    public static readonly string[] Poems =
    [
        "静夜思\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。",
        "春晓\n春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。",
        "登鹳雀楼\n白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。",
        "相思\n红豆生南国，春来发几枝。\n愿君多采撷，此物最相思。",
        "江雪\n千山鸟飞绝，万径人踪灭。\n孤舟蓑笠翁，独钓寒江雪。",
        "The moon is bright tonight; the frost lies on the ground. I'll look up, then look down and think of home.",
        "Spring sleep knows no dawn — birds sing everywhere. 123 4567 89!",
    ];

    /// <summary>Strings a byte-level tokenizer must round-trip: scripts, emoji sequences, controls, odd code points.</summary>
    public static readonly string[] Awkward =
    [
        "",
        " ",
        "床前明月光 moonlight 🌙 123456",
        "👨‍👩‍👧‍👦 family, 🇨🇳 flag, 👍🏽 skin tone",
        "e\u0301 combining, \u200B zero width, \u200D joiner",
        "\0 nul \u0001 \u007F \t tab \r\n crlf \n\n\n",
        "\uFEFF BOM and \uFFFF noncharacter \uFFFD replacement",
        "𠀀𪚥 supplementary ideographs 𠀀",
        "مرحبا بالعالم — שלום",
        "こんにちは、世界！ 한국어 텍스트",
        "<|endoftext without closing, <| |> and <|im_start",
        "spaces   <|im_end|>   around\n <|endoftext|>\n\n<|im_start|>user\n",
        "   leading and trailing spaces   ",
        "Ġ Ċ ā literal byte-alphabet characters",
        "it's they're we've I'm you'll he'd IT'S",
    ];

    /// <summary>
    /// A small BPE tokenizer trained on <see cref="Poems"/> plus the chat role names, shared by the chat-format tests
    /// (training it once instead of per test class; <see cref="TextTokenizer"/> is immutable and thread-safe).
    /// </summary>
    public static readonly TextTokenizer ChatTokenizer = TextTokenizer.FromModel(new BpeTrainer(600, 1).Train([.. Poems, "user\nassistant\nsystem\n"]));
}
