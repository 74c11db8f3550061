using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using System.Text;
using System.Text.Json;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Stages.Serve;
using MiniLlmPipeline.Tests.Model;
using MiniLlmPipeline.Tokenization;

namespace MiniLlmPipeline.Tests.Serve;

/// <summary>
/// A real Kestrel server on a loopback port (port 0) over a tiny random chat model with the bytes-only tokenizer
/// (vocabulary 260, context 128): fast enough that a request of 32 tokens takes milliseconds.
/// </summary>
public sealed class ServeHost : IAsyncDisposable
{
    public const string ModelName = "tiny-test";
    public static readonly GptConfig Config = TinyModels.Config with { VocabSize = 260, MaxSeqLen = 128 };

    private ServeHost(WebApplication app, TextGenerator generator, StringWriter log)
    {
        App = app;
        Generator = generator;
        Log = log;
        Address = ServeApp.Address(app);
        Http = new HttpClient { BaseAddress = new Uri(Address), Timeout = TimeSpan.FromSeconds(60) };
    }

    public WebApplication App { get; }
    public TextGenerator Generator { get; }
    public StringWriter Log { get; }
    public string Address { get; }
    public HttpClient Http { get; }
    internal DecodeScheduler Scheduler => App.Services.GetRequiredService<DecodeScheduler>();

    /// <param name="checkpoint">a stage folder to serve instead of the random model (the README screenshot)</param>
    public static async Task<ServeHost> Start(ServeLimits? limits = null, string? apiKey = null, string? checkpoint = null)
    {
        var generator = checkpoint is null
            ? new TextGenerator(TinyModels.Create(seed: 3, Config), TextTokenizer.FromModel(BpeModel.BytesOnly()), chat: true)
            : TextGenerator.Load(checkpoint, TorchSharp.torch.CPU, chat: true);
        var log = new StringWriter();
        var app = ServeApp.Build(generator, new ServeOptions
        {
            ModelName = ModelName, Limits = limits ?? new ServeLimits { MaxTokens = 128, DefaultMaxTokens = 16 },
            ApiKey = apiKey, Log = TextWriter.Synchronized(log),
        }, "http://127.0.0.1:0");
        await app.StartAsync();
        return new ServeHost(app, generator, log);
    }

    /// <summary>The prompt ids the server must count for one user message (computed here with the template itself).</summary>
    public int PromptTokens(string user) => ChatTemplate.RenderPrompt(Generator.Tokenizer, user).Length;

    /// <summary>The model id clients must name.</summary>
    public string Model => ModelName;

    public Task<HttpResponseMessage> Post(string path, string json) =>
        Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    public static string Chat(string user, int maxTokens, bool stream = false, double temperature = 0, string extra = "") =>
        $$"""{"model":"{{ModelName}}","messages":[{"role":"user","content":{{JsonSerializer.Serialize(user)}}}],"max_tokens":{{maxTokens}},"temperature":{{temperature}},"stream":{{(stream ? "true" : "false")}}{{(stream ? ",\"stream_options\":{\"include_usage\":true}" : "")}}{{extra}}}""";

    /// <summary>A streamed chat completion read to the end: its text, finish reason, usage and the number of content chunks.</summary>
    public async Task<StreamResult> Stream(string user, int maxTokens, string extra = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(Chat(user, maxTokens, stream: true, extra: extra), Encoding.UTF8, "application/json") };
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var text = new StringBuilder();
        string? finish = null;
        JsonElement? usage = null;
        var chunks = 0;
        var done = false;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ")) continue;
            var data = line["data: ".Length..];
            if (data == "[DONE]") { done = true; break; }
            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            Assert.Equal("chat.completion.chunk", root.GetProperty("object").GetString());
            if (root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object) usage = u.Clone();
            foreach (var choice in root.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var c) && c.GetString() is { Length: > 0 } piece) { text.Append(piece); chunks++; }
                if (choice.GetProperty("finish_reason").GetString() is { } f) finish = f;
            }
        }
        Assert.True(done, "the stream must end with data: [DONE]");
        return new StreamResult(text.ToString(), finish, usage!.Value.GetProperty("prompt_tokens").GetInt32(), usage.Value.GetProperty("completion_tokens").GetInt32(), chunks);
    }

    /// <summary>A non-streamed chat completion: text, finish reason, usage.</summary>
    public async Task<StreamResult> Complete(string user, int maxTokens, string extra = "")
    {
        using var response = await Post("/v1/chat/completions", Chat(user, maxTokens, extra: extra));
        Assert.Equal(200, (int)response.StatusCode);
        var root = (await response.Content.ReadFromJsonAsync<JsonElement>());
        var choice = root.GetProperty("choices")[0];
        var usage = root.GetProperty("usage");
        return new StreamResult(choice.GetProperty("message").GetProperty("content").GetString()!, choice.GetProperty("finish_reason").GetString(),
            usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32(), 1);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

public sealed record StreamResult(string Text, string? Finish, int PromptTokens, int CompletionTokens, int Chunks);
