using System.Text.Json;
using MiniLlmPipeline.Data;
using MiniLlmPipeline.Generation;

namespace MiniLlmPipeline.Stages.Serve;

/// <summary>A validated /v1/chat/completions or /v1/completions request, its prompt already encoded.</summary>
internal sealed record ParsedRequest(
    int[] Prompt, int N, int MaxTokens, double Temperature, double TopP, ulong? Seed,
    IReadOnlyList<string> Stops, bool Stream, bool IncludeUsage, bool IgnoreEos,
    double FrequencyPenalty = 0, double PresencePenalty = 0, double MinP = 0);

/// <summary>
/// Reads an OpenAI request body field by field, so each problem is named: malformed JSON, a wrong type, a value out
/// of range, an unknown role, an unknown model, a prompt the context cannot hold. Fields we do not implement
/// (tools, logprobs, ...) are ignored, as OpenAI-compatible servers commonly do.
/// </summary>
internal sealed class RequestParser(TextGenerator generator, string modelName, ServeLimits limits)
{
    private static readonly HashSet<string> Roles = ["system", "user", "assistant", "developer"];

    private int Context => generator.Model.Config.MaxSeqLen;
    private int MaxPrompt => limits.MaxPromptTokens > 0 ? Math.Min(limits.MaxPromptTokens, Context - 1) : Context - 1;

    public ParsedRequest ParseChat(byte[] body)
    {
        using var doc = Parse(body);
        var root = doc.RootElement;
        CheckModel(root);
        if (!root.TryGetProperty("messages", out var messages)) throw ApiError.BadRequest("'messages' is required", "messages", "missing_required_parameter");
        if (messages.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest("'messages' must be an array", "messages", "invalid_type");
        if (messages.GetArrayLength() == 0) throw ApiError.BadRequest("'messages' must not be empty", "messages");
        var turns = new List<ConversationTurn>();
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var at = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest($"'{at}' must be an object", at, "invalid_type");
            var role = RequiredString(message, "role", at);
            if (!Roles.Contains(role)) throw ApiError.BadRequest($"'{at}.role' is '{role}'; expected one of system, user, assistant, developer", $"{at}.role");
            // developer is the newer name of system (OpenAI's o-series); the template knows system.
            turns.Add(new ConversationTurn(role == "developer" ? "system" : role, Content(message, at)));
        }
        return Common(root, generator.EncodeConversation(turns), "messages");
    }

    public ParsedRequest ParseCompletion(byte[] body)
    {
        using var doc = Parse(body);
        var root = doc.RootElement;
        CheckModel(root);
        if (!root.TryGetProperty("prompt", out var prompt)) throw ApiError.BadRequest("'prompt' is required", "prompt", "missing_required_parameter");
        var text = prompt.ValueKind switch
        {
            JsonValueKind.String => prompt.GetString()!,
            JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String => prompt[0].GetString()!,
            JsonValueKind.Array => throw ApiError.BadRequest("'prompt' as an array must hold exactly one string (batch prompts are not supported)", "prompt"),
            _ => throw ApiError.BadRequest("'prompt' must be a string", "prompt", "invalid_type"),
        };
        if (text.Length == 0) throw ApiError.BadRequest("'prompt' must not be empty", "prompt");
        return Common(root, [.. generator.Tokenizer.Encode(text)], "prompt");
    }

    private static JsonDocument Parse(byte[] body)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(body); }
        catch (JsonException e) { throw ApiError.BadRequest($"the request body is not valid JSON: {e.Message}", null, "invalid_json"); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw ApiError.BadRequest("the request body must be a JSON object", null, "invalid_json");
        }
        return doc;
    }

    private void CheckModel(JsonElement root)
    {
        if (!root.TryGetProperty("model", out var model) || model.ValueKind == JsonValueKind.Null) return;
        if (model.ValueKind != JsonValueKind.String) throw ApiError.BadRequest("'model' must be a string", "model", "invalid_type");
        if (model.GetString() != modelName)
            throw new ApiError(404, $"The model '{model.GetString()}' does not exist; this server serves '{modelName}'", "model", "model_not_found");
    }

    private static string RequiredString(JsonElement obj, string name, string at)
    {
        if (!obj.TryGetProperty(name, out var value)) throw ApiError.BadRequest($"'{at}.{name}' is required", $"{at}.{name}", "missing_required_parameter");
        if (value.ValueKind != JsonValueKind.String) throw ApiError.BadRequest($"'{at}.{name}' must be a string", $"{at}.{name}", "invalid_type");
        return value.GetString()!;
    }

    /// <summary>A message's content: a string, or an array of text parts (what newer clients send).</summary>
    private static string Content(JsonElement message, string at)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null) return "";
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest($"'{at}.content' must be a string or an array of text parts", $"{at}.content", "invalid_type");
        var parts = new List<string>();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                throw ApiError.BadRequest($"'{at}.content' parts must be objects with a 'type'", $"{at}.content", "invalid_type");
            if (type.GetString() != "text") throw ApiError.BadRequest($"'{at}.content' part type '{type.GetString()}' is not supported; only 'text'", $"{at}.content");
            parts.Add(RequiredString(part, "text", $"{at}.content"));
        }
        return string.Concat(parts);
    }

    private ParsedRequest Common(JsonElement root, int[] prompt, string promptParam)
    {
        if (prompt.Length > MaxPrompt)
            throw ApiError.BadRequest($"the prompt is {prompt.Length} tokens; this model's context is {Context} tokens, so a prompt may have at most {MaxPrompt}",
                promptParam, "context_length_exceeded");
        var temperature = Number(root, "temperature", 1.0, 0, 2);
        var topP = Number(root, "top_p", 1.0, 0, 1);
        if (topP == 0) throw ApiError.BadRequest("'top_p' must be greater than 0", "top_p");
        var n = Integer(root, "n", 1, 1, limits.MaxChoices);
        var maxTokens = Integer(root, "max_completion_tokens", 0, 1, limits.MaxTokens);
        if (maxTokens == 0) maxTokens = Integer(root, "max_tokens", 0, 1, limits.MaxTokens);
        if (maxTokens == 0) maxTokens = limits.DefaultMaxTokens;
        ulong? seed = root.TryGetProperty("seed", out var s) && s.ValueKind != JsonValueKind.Null
            ? s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var v) ? unchecked((ulong)v) : throw ApiError.BadRequest("'seed' must be an integer", "seed", "invalid_type")
            : null;
        var stream = Bool(root, "stream");
        var includeUsage = false;
        if (root.TryGetProperty("stream_options", out var options) && options.ValueKind != JsonValueKind.Null)
        {
            if (options.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest("'stream_options' must be an object", "stream_options", "invalid_type");
            includeUsage = Bool(options, "include_usage");
        }
        // vLLM's extension: decode max_tokens whatever the model says (benchmarks want fixed-length answers).
        var ignoreEos = Bool(root, "ignore_eos");
        // OpenAI's penalties and their range; min_p as vLLM and llama.cpp's servers name it.
        var frequencyPenalty = Number(root, "frequency_penalty", 0, -2, 2);
        var presencePenalty = Number(root, "presence_penalty", 0, -2, 2);
        var minP = Number(root, "min_p", 0, 0, 1);
        if (minP == 1) throw ApiError.BadRequest("'min_p' must be less than 1", "min_p");
        return new ParsedRequest(prompt, n, maxTokens, temperature, topP, seed, Stops(root), stream, includeUsage, ignoreEos,
            frequencyPenalty, presencePenalty, minP);
    }

    private static IReadOnlyList<string> Stops(JsonElement root)
    {
        if (!root.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null) return [];
        var stops = stop.ValueKind switch
        {
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array => stop.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String
                ? e.GetString()! : throw ApiError.BadRequest("'stop' must be a string or an array of strings", "stop", "invalid_type")).ToList(),
            _ => throw ApiError.BadRequest("'stop' must be a string or an array of strings", "stop", "invalid_type"),
        };
        if (stops.Count > 4) throw ApiError.BadRequest("'stop' may hold at most 4 sequences", "stop");
        if (stops.Any(x => x.Length == 0)) throw ApiError.BadRequest("'stop' sequences must not be empty", "stop");
        return stops;
    }

    private static double Number(JsonElement root, string name, double fallback, double min, double max)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        if (value.ValueKind != JsonValueKind.Number) throw ApiError.BadRequest($"'{name}' must be a number", name, "invalid_type");
        var x = value.GetDouble();
        if (x < min || x > max) throw ApiError.BadRequest($"'{name}' is {x}; it must be between {min} and {max}", name);
        return x;
    }

    private static int Integer(JsonElement root, string name, int fallback, int min, int max)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return fallback;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var x)) throw ApiError.BadRequest($"'{name}' must be an integer", name, "invalid_type");
        if (x < min || x > max) throw ApiError.BadRequest($"'{name}' is {x}; it must be between {min} and {max}", name);
        return (int)x;
    }

    private static bool Bool(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return false;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw ApiError.BadRequest($"'{name}' must be a boolean", name, "invalid_type"),
        };
    }
}
