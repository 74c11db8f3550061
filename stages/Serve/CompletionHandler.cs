using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MiniLlmPipeline.Generation;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>
/// /v1/chat/completions and /v1/completions: parse, queue the job, then either stream its tokens as server-sent
/// events in OpenAI's chunk format (ending with <c>data: [DONE]</c>) or answer with one JSON object. The client
/// leaving cancels the job, so its rows leave the batch at the next decode step.
/// </summary>
internal sealed class CompletionHandler(TextGenerator generator, DecodeScheduler scheduler, RequestParser parser, ServeOptions options)
{
    // Chinese text stays readable on the wire (curl) instead of \uXXXX escapes; the escaping of markup characters is not needed in JSON bodies.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = null, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly int[] _chatStops = [generator.Tokenizer.ImEndId, generator.Tokenizer.EndOfTextId];
    private readonly int[] _textStops = [generator.Tokenizer.EndOfTextId];

    public async Task Handle(HttpContext context, bool chat)
    {
        var started = Stopwatch.GetTimestamp();
        var body = await ReadBody(context);
        var request = chat ? parser.ParseChat(body) : parser.ParseCompletion(body);
        var id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
        int[] stopIds = request.IgnoreEos ? [] : chat && generator.Chat ? _chatStops : _textStops;
        var job = new GenerationJob(id, request.Prompt, request.N, request.MaxTokens, request.Temperature, request.TopP, request.Seed, stopIds)
        {
            FrequencyPenalty = request.FrequencyPenalty, PresencePenalty = request.PresencePenalty, MinP = request.MinP,
        };
        if (!scheduler.TryEnqueue(job))
            throw new ApiError(429, $"The server is busy ({options.Limits.MaxQueue} requests queued); retry shortly", null, "rate_limit_exceeded");
        var choices = Enumerable.Range(0, request.N).Select(_ => new ChoiceText(generator.Tokenizer, stopIds, request.Stops)).ToArray();
        double? ttft = null;
        var status = "ok";
        var aborted = context.RequestAborted;
        try
        {
            var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var writer = request.Stream ? new SseWriter(context, id, created, options.ModelName, chat) : null;
            if (writer is not null) await writer.Start(request.N);
            var open = request.N;
            await foreach (var e in job.Events.Reader.ReadAllAsync(aborted))
            {
                var choice = choices[e.Choice];
                if (choice.FinishReason is not null) continue;
                ttft ??= Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (e.Finish == "error") throw new ApiError(500, "Decoding failed; the request was dropped", null, "internal_error");
                var piece = e.Finish is null ? choice.Add(e.Token) : choice.Finish(e.Finish);
                if (choice.FinishReason is not null) job.CancelChoice(e.Choice);
                if (writer is not null && (piece.Length > 0 || choice.FinishReason is not null))
                    await writer.Chunk(e.Choice, piece, choice.FinishReason);
                if (choice.FinishReason is not null && --open == 0) break;
            }
            if (open > 0) throw new ApiError(500, "Decoding ended early; the request was dropped", null, "internal_error");
            var usage = Usage(request, choices);
            if (writer is not null) await writer.End(request.IncludeUsage ? usage : null);
            else await context.Response.WriteAsJsonAsync(chat ? ChatBody(id, created, choices, usage) : TextBody(id, created, choices, usage), Json);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            status = "client-gone";
        }
        catch (ApiError e) when (context.Response.HasStarted)
        {
            status = "error";
            await SseWriter.Error(context, e);
        }
        finally
        {
            job.Cancel();
            var total = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            (options.Log ?? Console.Error).WriteLine(
                $"serve: {id} {status} prompt_tokens={request.Prompt.Length} completion_tokens={choices.Sum(c => c.Tokens)} n={request.N} " +
                $"ttft_ms={(ttft is { } t ? t.ToString("F1") : "-")} total_ms={total:F1}");
        }
    }

    private static async Task<byte[]> ReadBody(HttpContext context)
    {
        using var memory = new MemoryStream();
        await context.Request.Body.CopyToAsync(memory, context.RequestAborted);
        return memory.ToArray();
    }

    private static object Usage(ParsedRequest request, ChoiceText[] choices)
    {
        var completion = choices.Sum(c => c.Tokens);
        return new { prompt_tokens = request.Prompt.Length, completion_tokens = completion, total_tokens = request.Prompt.Length + completion };
    }

    private object ChatBody(string id, long created, ChoiceText[] choices, object usage) => new
    {
        id, @object = "chat.completion", created, model = options.ModelName,
        choices = choices.Select((c, i) => new { index = i, message = new { role = "assistant", content = c.Text }, logprobs = (object?)null, finish_reason = c.FinishReason }),
        usage,
    };

    private object TextBody(string id, long created, ChoiceText[] choices, object usage) => new
    {
        id, @object = "text_completion", created, model = options.ModelName,
        choices = choices.Select((c, i) => new { index = i, text = c.Text, logprobs = (object?)null, finish_reason = c.FinishReason }),
        usage,
    };

    /// <summary>Server-sent events in OpenAI's chunk format, flushed chunk by chunk.</summary>
    private sealed class SseWriter(HttpContext context, string id, long created, string model, bool chat)
    {
        public async Task Start(int n)
        {
            context.Response.ContentType = "text/event-stream; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.Headers["X-Accel-Buffering"] = "no";
            await context.Response.StartAsync(context.RequestAborted);
            // Chat streams open every choice with the assistant role, as OpenAI does.
            if (chat) for (var i = 0; i < n; i++) await Write(Envelope([new { index = i, delta = new { role = "assistant", content = "" }, logprobs = (object?)null, finish_reason = (string?)null }], null));
        }

        public Task Chunk(int index, string text, string? finish) => Write(Envelope(
            [chat
                ? new { index, delta = finish is null || text.Length > 0 ? new { content = text } : (object)new { }, logprobs = (object?)null, finish_reason = finish }
                : (object)new { index, text, logprobs = (object?)null, finish_reason = finish }], null));

        public async Task End(object? usage)
        {
            if (usage is not null) await Write(Envelope([], usage));
            await WriteRaw("data: [DONE]\n\n");
        }

        public static Task Error(HttpContext context, ApiError error) =>
            WriteRaw(context, $"data: {JsonSerializer.Serialize(error.Body, Json)}\n\n");

        private object Envelope(object[] choices, object? usage) => usage is null
            ? new { id, @object = chat ? "chat.completion.chunk" : "text_completion", created, model, choices }
            : new { id, @object = chat ? "chat.completion.chunk" : "text_completion", created, model, choices, usage };

        private Task Write(object chunk) => WriteRaw($"data: {JsonSerializer.Serialize(chunk, Json)}\n\n");

        private Task WriteRaw(string text) => WriteRaw(context, text);

        private static async Task WriteRaw(HttpContext context, string text)
        {
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }
}
