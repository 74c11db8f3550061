using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Tests.Model;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Generation;

public class TextGeneratorTests
{
    /// <summary>The generate program's plain-model chat encodes its one-line history with this; it must be the line as-is.</summary>
    [Fact]
    public void EncodeConversation_OfOneUserTurn_IsEncodePrompt_ForAPlainModel()
    {
        using var model = TinyModels.Create();
        var generator = new TextGenerator(model, TextTokenizer.FromModel(BpeModel.BytesOnly()), chat: false);

        var ids = generator.EncodeConversation([new ConversationTurn("user", "床前明月光")]);

        Assert.Equal(generator.EncodePrompt("床前明月光"), ids);
        Assert.Equal(15, ids.Length);
    }
}
