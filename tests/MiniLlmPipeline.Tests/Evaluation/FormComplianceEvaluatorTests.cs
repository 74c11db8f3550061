using MiniLlmPipeline.Data;
using MiniLlmPipeline.Evaluation;

namespace MiniLlmPipeline.Tests.Evaluation;

public class FormComplianceEvaluatorTests
{
    private static PromptExample Prompt(string text, string? form) =>
        new(text, form is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [FormComplianceEvaluator.FormColumn] = form });

    [Fact]
    public void FormPrompts_AreTheFirstSamplesThatNameAForm_InFileOrder()
    {
        var prompts = new[] { Prompt("a", null), Prompt("b", "五绝"), Prompt("c", null), Prompt("d", "七律"), Prompt("e", "五律") };

        Assert.Equal(["b", "d"], FormComplianceEvaluator.FormPrompts(prompts, 2).Select(p => p.Prompt));
        Assert.Equal(["b", "d", "e"], FormComplianceEvaluator.FormPrompts(prompts, 10).Select(p => p.Prompt));
        Assert.Empty(FormComplianceEvaluator.FormPrompts(prompts, 0));
    }
}
