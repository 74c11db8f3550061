using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;

namespace MiniLlmPipeline.Tests.Serve;

/// <summary>The official OpenAI .NET client and Microsoft.Extensions.AI's IChatClient over it, against a real server.</summary>
public class ServeClientTests
{
    private static ChatClient Client(ServeHost host) =>
        new(ServeHost.ModelName, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(host.Address + "/v1") });

    [Fact]
    public async Task OpenAiClient_NonStreamedAndStreamed_GiveTheSameGreedyAnswer_WithUsage()
    {
        await using var host = await ServeHost.Start();
        var client = Client(host);
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 };

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("床前明月光")], options);

        Assert.Equal(host.PromptTokens("床前明月光"), completion.Usage.InputTokenCount);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 12);
        Assert.Equal(completion.Usage.OutputTokenCount == 12 ? ChatFinishReason.Length : ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);

        var streamed = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("床前明月光")], options))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            usage ??= update.Usage;
            finish ??= update.FinishReason;
        }
        Assert.Equal(completion.Content[0].Text, streamed.ToString());
        Assert.Equal(completion.Usage.OutputTokenCount, usage!.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(completion.FinishReason, finish);
    }

    [Fact]
    public async Task ExtensionsAiChatClient_OverTheOpenAiClient_AnswersAndStreams()
    {
        await using var host = await ServeHost.Start();
        IChatClient chat = Client(host).AsIChatClient();
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 10 };
        List<Microsoft.Extensions.AI.ChatMessage> messages = [new(ChatRole.System, "你是诗人"), new(ChatRole.User, "写一句诗")];

        var response = await chat.GetResponseAsync(messages, options);
        var streamed = string.Concat(await chat.GetStreamingResponseAsync(messages, options).Select(u => u.Text).ToListAsync());

        Assert.Equal(response.Text, streamed);
        Assert.InRange(response.Usage!.OutputTokenCount!.Value, 1, 10);
        Assert.Equal(ServeHost.ModelName, response.ModelId);
    }
}
