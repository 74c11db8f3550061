using MiniLlmPipeline.Stages.Serve;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Serve;

/// <summary>Streaming text pieces: never half a character, never part of a stop sequence, stops excluded from the text.</summary>
public class ChoiceTextTests
{
    private static readonly TextTokenizer Bytes = TextTokenizer.FromModel(BpeModel.BytesOnly());

    private static (List<string> Pieces, ChoiceText Choice) Feed(string text, IReadOnlyList<string> stops, params int[] tail)
    {
        var choice = new ChoiceText(Bytes, [Bytes.ImEndId], stops);
        var pieces = new List<string>();
        foreach (var id in Bytes.Encode(text).Concat(tail))
        {
            pieces.Add(choice.Add(id));
            if (choice.FinishReason is not null) break;
        }
        if (choice.FinishReason is null) pieces.Add(choice.Finish("length"));
        return (pieces, choice);
    }

    [Fact]
    public void MultiByteCharacters_AreReleasedWhole_OneCharacterPerThreeByteTokens()
    {
        var (pieces, choice) = Feed("床前", []);
        Assert.Equal(["", "", "床", "", "", "前", ""], pieces);
        Assert.Equal("床前", choice.Text);
        Assert.Equal(6, choice.Tokens);
        Assert.Equal("length", choice.FinishReason);
    }

    [Fact]
    public void AStopSequence_EndsTheChoice_WithoutItsText_AndNothingOfItIsReleasedEarly()
    {
        var (pieces, choice) = Feed("ab明月cd", ["明月"]);
        Assert.Equal("ab", choice.Text);
        Assert.Equal("ab", string.Concat(pieces));
        Assert.Equal("stop", choice.FinishReason);
        Assert.Equal(8, choice.Tokens);   // a, b and the six bytes of 明月: the tokens the model produced
        Assert.DoesNotContain(pieces, p => p.Contains('明'));
    }

    [Fact]
    public void AStopToken_EndsTheChoice_AndCountsAsProduced()
    {
        var (pieces, choice) = Feed("hi", [], Bytes.ImEndId, 'x');
        Assert.Equal("hi", string.Concat(pieces));
        Assert.Equal(3, choice.Tokens);
        Assert.Equal("stop", choice.FinishReason);
    }
}
