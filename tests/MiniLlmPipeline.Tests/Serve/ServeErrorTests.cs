using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MiniLlmPipeline.Stages.Serve;

namespace MiniLlmPipeline.Tests.Serve;

/// <summary>Every bad request gets its status and an OpenAI-shaped error naming the problem; the next good one still succeeds.</summary>
public class ServeErrorTests
{
    private const string User = """{"role":"user","content":"hi"}""";

    public static TheoryData<string, string, int, string?, string?> BadRequests => new()
    {
        // path, body, status, param, code
        { "/v1/chat/completions", """{"messages": [""", 400, null, "invalid_json" },
        { "/v1/chat/completions", "[1, 2]", 400, null, "invalid_json" },
        { "/v1/chat/completions", """{"model":"tiny-test"}""", 400, "messages", "missing_required_parameter" },
        { "/v1/chat/completions", """{"messages":"hi"}""", 400, "messages", "invalid_type" },
        { "/v1/chat/completions", """{"messages":[]}""", 400, "messages", "invalid_value" },
        { "/v1/chat/completions", """{"messages":[{"role":"wizard","content":"hi"}]}""", 400, "messages[0].role", "invalid_value" },
        { "/v1/chat/completions", """{"messages":[{"content":"hi"}]}""", 400, "messages[0].role", "missing_required_parameter" },
        { "/v1/chat/completions", """{"messages":[{"role":"user","content":7}]}""", 400, "messages[0].content", "invalid_type" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"temperature":"hot"}""", 400, "temperature", "invalid_type" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"temperature":2.5}""", 400, "temperature", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"top_p":0}""", 400, "top_p", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"top_p":1.5}""", 400, "top_p", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"frequency_penalty":2.5}""", 400, "frequency_penalty", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"presence_penalty":"x"}""", 400, "presence_penalty", "invalid_type" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"min_p":1}""", 400, "min_p", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"max_tokens":0}""", 400, "max_tokens", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"max_tokens":1.5}""", 400, "max_tokens", "invalid_type" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"max_completion_tokens":100000}""", 400, "max_completion_tokens", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"n":100}""", 400, "n", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"stream":"yes"}""", 400, "stream", "invalid_type" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"stop":[1]}""", 400, "stop", "invalid_type" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"stop":["a","b","c","d","e"]}""", 400, "stop", "invalid_value" },
        { "/v1/chat/completions", $$"""{"messages":[{{User}}],"seed":"x"}""", 400, "seed", "invalid_type" },
        { "/v1/chat/completions", $$"""{"model":7,"messages":[{{User}}]}""", 400, "model", "invalid_type" },
        { "/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"{{new string('x', 200)}}"}]}""", 400, "messages", "context_length_exceeded" },
        { "/v1/completions", """{"prompt":""}""", 400, "prompt", "invalid_value" },
        { "/v1/completions", """{"prompt":5}""", 400, "prompt", "invalid_type" },
        { "/v1/completions", $$"""{"prompt":"{{new string('x', 128)}}"}""", 400, "prompt", "context_length_exceeded" },
        { "/v1/chat/completions", $$"""{"model":"gpt-4o","messages":[{{User}}]}""", 404, "model", "model_not_found" },
        { "/v1/completions", """{"model":"gpt-4o","prompt":"hi"}""", 404, "model", "model_not_found" },
        { "/v1/nowhere", "{}", 404, null, "unknown_url" },
    };

    [Fact]
    public async Task EveryBadRequest_GetsItsStatusAndError_AndTheNextGoodRequestSucceeds()
    {
        await using var host = await ServeHost.Start();
        foreach (var row in BadRequests)
        {
            var (path, body, status, param, code) = ((string)row[0], (string)row[1], (int)row[2], (string?)row[3], (string?)row[4]);
            using var response = await host.Post(path, body);
            await AssertError(response, status, param, code, $"{path} {body[..Math.Min(60, body.Length)]}");
            var good = await host.Complete("hi", 4);
            Assert.InRange(good.CompletionTokens, 1, 4);
        }
    }

    [Fact]
    public async Task ABodyOverTheLimit_Gets413_AndGetModels_ListsTheModel()
    {
        await using var host = await ServeHost.Start(new ServeLimits { MaxBodyBytes = 4096 });
        using var big = await host.Post("/v1/chat/completions", $$"""{"messages":[{"role":"user","content":"{{new string('x', 8000)}}"}]}""");
        await AssertError(big, 413, null, "request_too_large", "big body");

        var models = await host.Http.GetFromJsonAsync<JsonElement>("/v1/models");
        Assert.Equal(ServeHost.ModelName, models.GetProperty("data")[0].GetProperty("id").GetString());
        using var unknown = await host.Http.GetAsync("/v1/models/gpt-4o");
        await AssertError(unknown, 404, "model", "model_not_found", "unknown model");
        var health = await host.Http.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("ok", health.GetProperty("status").GetString());
    }

    [Fact]
    public async Task WithAnApiKey_RequestsWithoutTheBearerToken_Get401()
    {
        await using var host = await ServeHost.Start(apiKey: "sekret");
        using (var none = await host.Post("/v1/chat/completions", ServeHost.Chat("hi", 2)))
            await AssertError(none, 401, null, "invalid_api_key", "no key");
        host.Http.DefaultRequestHeaders.Authorization = new("Bearer", "wrong");
        using (var wrong = await host.Http.GetAsync("/v1/models"))
            await AssertError(wrong, 401, null, "invalid_api_key", "wrong key");
        host.Http.DefaultRequestHeaders.Authorization = new("Bearer", "sekret");
        Assert.InRange((await host.Complete("hi", 2)).CompletionTokens, 1, 2);
        // The health check and the page stay open (load balancers and browsers ask without a key).
        host.Http.DefaultRequestHeaders.Authorization = null;
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await host.Http.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task AFullQueue_Gets429WithRetryAfter_AndTheQueuedRequestStillCompletes()
    {
        await using var host = await ServeHost.Start(new ServeLimits { MaxBatch = 1, MaxQueue = 1, MaxTokens = 64 });
        Task<StreamResult> queued;
        using (host.Scheduler.Pause())
        {
            queued = host.Complete("first", 4);
            while (host.Scheduler.Queued == 0) await Task.Delay(5);
            using var refused = await host.Post("/v1/chat/completions", ServeHost.Chat("second", 4));
            Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
            await AssertError(refused, 429, null, "rate_limit_exceeded", "full queue");
        }
        Assert.InRange((await queued).CompletionTokens, 1, 4);
    }

    internal static async Task AssertError(HttpResponseMessage response, int status, string? param, string? code, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{what}: expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.DoesNotMatch(@"at [\w.]+\(|Exception|\.cs:line", text);   // never a stack trace
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), what);
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()), what);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
    }
}
