using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Stages.Serve;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Bench;

/// <summary>
/// The serve program under load: N = 1, 4, 16, 32 concurrent streaming clients (closed loop: each sends its next
/// request when the last one ends) against a real Kestrel server in this process, over the default model's
/// checkpoint (&lt;run-dir&gt;/sft; a random model of its shape when that is missing). Every answer decodes exactly
/// max_tokens (ignore_eos), so tokens/s compare across N. Reports aggregate tokens/s, p50/p99 time to first token
/// and total latency, errors and peak RSS, the single-request rate beside them (the batching gain is a ratio of one
/// run), and RSS over 1,000 short requests.
/// </summary>
internal static class ServeBench
{
    public const string Section = "serve";
    private const int MaxTokens = 96;

    private static readonly string[] Prompts = ["以《春望》为题写一首五言绝句", "写一首关于月亮的七言绝句", "以《秋夜》为题写一首五言律诗", "写一首送别的诗", "以《江雪》为题写一首诗"];

    public static IEnumerable<Measurement> Run(BenchOptions options)
    {
        var (generator, source) = Load(options.RunDir);
        var limits = new ServeLimits { MaxBatch = 32, MaxQueue = 64, MaxTokens = MaxTokens, Threads = TorchRuntime.ChooseThreads() };
        using var app = ServeApp.Build(generator, new ServeOptions { ModelName = "bench", Limits = limits, Log = TextWriter.Null }, "http://127.0.0.1:0");
        app.StartAsync().GetAwaiter().GetResult();
        using var http = new HttpClient { BaseAddress = new Uri(ServeApp.Address(app)), Timeout = TimeSpan.FromMinutes(5) };
        // Every answer must fit the context after the longest prompt (usage = max_tokens is how a request counts as correct).
        var room = generator.Model.Config.MaxSeqLen - Prompts.Max(p => generator.EncodePrompt(p).Length);
        var maxTokens = Math.Min(options.Quick ? 24 : MaxTokens, room);
        Load(http, 1, 1, maxTokens); // warm-up: JIT, first allocations

        double? single = null;
        foreach (var clients in new[] { 1, 4, 16, 32 })
        {
            var perClient = options.Quick ? 1 : Math.Max(2, 16 / clients);
            var result = Load(http, clients, perClient, maxTokens);
            single ??= result.TokensPerSecond;
            var detail = $"{clients} clients × {perClient} requests × {maxTokens} tokens, streamed; {source}";
            yield return new(Section, $"{clients} clients aggregate", result.TokensPerSecond, "tok/s", detail);
            yield return new(Section, $"{clients} clients vs 1 client", result.TokensPerSecond / single, "×", "aggregate tok/s ÷ the 1-client rate of this run");
            yield return new(Section, $"{clients} clients TTFT p50", result.Ttft.P50, "ms", $"p99 {result.Ttft.P99:F0} ms");
            yield return new(Section, $"{clients} clients latency p50", result.Total.P50, "ms", $"p99 {result.Total.P99:F0} ms");
            yield return new(Section, $"{clients} clients errors", result.Errors, "", "non-200 answers, broken streams, wrong usage");
            yield return new(Section, $"{clients} clients peak RSS", PeakRssMb(), "MB", "VmHWM of this process so far");
        }

        var requests = options.Quick ? 100 : 1000;
        var before = RssMb();
        var flat = Load(http, 16, requests / 16, 8);
        yield return new(Section, $"RSS after {requests} requests", RssMb(), "MB", $"{before:F0} MB before; 16 clients × 8 tokens; {flat.Errors} errors");
        app.StopAsync().GetAwaiter().GetResult();
    }

    private static (TextGenerator Generator, string Source) Load(string runDir)
    {
        var dir = Path.Combine(runDir, "sft");
        if (File.Exists(Path.Combine(dir, "model.safetensors")))
            return (TextGenerator.Load(dir, torch.CPU, chat: true), $"checkpoint {dir}");
        // Without the checkpoint: the same shape with random weights decodes at the same speed. The run's own
        // tokenizer keeps the vocabulary (4096, so the output matmul) and prompt lengths those of the real model.
        var tokenizerDir = Path.Combine(runDir, "tokenize", ModelCheckpoint.TokenizerFolder);
        var tokenizer = Directory.Exists(tokenizerDir) ? TextTokenizer.Load(tokenizerDir) : TextTokenizer.FromModel(BpeModel.BytesOnly());
        torch.manual_seed(1);
        var model = new Gpt(BenchModels.Default with { VocabSize = tokenizer.VocabSize });
        model.eval();
        return (new TextGenerator(model, tokenizer, chat: true),
            $"random default-shaped model ({dir} missing), {(Directory.Exists(tokenizerDir) ? tokenizerDir : "bytes tokenizer")}, vocabulary {tokenizer.VocabSize}");
    }

    private sealed record LoadResult(double TokensPerSecond, Percentiles Ttft, Percentiles Total, int Errors);

    private sealed record Percentiles(double P50, double P99)
    {
        public static Percentiles Of(List<double> values)
        {
            if (values.Count == 0) return new(double.NaN, double.NaN);
            values.Sort();
            double At(double q) => values[Math.Min(values.Count - 1, (int)Math.Ceiling(q * values.Count) - 1)];
            return new(At(0.5), At(0.99));
        }
    }

    private static LoadResult Load(HttpClient http, int clients, int perClient, int maxTokens)
    {
        var ttft = new List<double>();
        var total = new List<double>();
        var tokens = 0L;
        var errors = 0;
        var clock = Stopwatch.StartNew();
        Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            for (var r = 0; r < perClient; r++)
            {
                var (ok, first, all, count) = await Stream(http, Prompts[(client + r) % Prompts.Length], maxTokens);
                lock (ttft)
                {
                    if (!ok) { errors++; continue; }
                    ttft.Add(first);
                    total.Add(all);
                    tokens += count;
                }
            }
        }))).GetAwaiter().GetResult();
        return new LoadResult(tokens / clock.Elapsed.TotalSeconds, Percentiles.Of(ttft), Percentiles.Of(total), errors);
    }

    /// <summary>One streamed request: whether it succeeded with usage.completion_tokens = max_tokens, its TTFT and total in ms.</summary>
    private static async Task<(bool Ok, double Ttft, double Total, int Tokens)> Stream(HttpClient http, string prompt, int maxTokens)
    {
        var started = Stopwatch.GetTimestamp();
        double? first = null;
        try
        {
            var body = JsonSerializer.Serialize(new
            {
                messages = new[] { new { role = "user", content = prompt } }, max_tokens = maxTokens, temperature = 0.8, top_p = 0.95,
                stream = true, stream_options = new { include_usage = true }, ignore_eos = true,
            });
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) return (false, 0, 0, 0);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var completion = -1;
            var done = false;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                if (line == "data: [DONE]") { done = true; break; }
                using var chunk = JsonDocument.Parse(line.AsMemory(6));
                var root = chunk.RootElement;
                if (root.TryGetProperty("usage", out var usage)) completion = usage.GetProperty("completion_tokens").GetInt32();
                // The first token: the first chunk after the role chunk (its text may be held back while a character is incomplete).
                else if (root.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var content) && content.GetString()!.Length > 0)
                    first ??= Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
            var totalMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            return (done && completion == maxTokens, first ?? totalMs, totalMs, Math.Max(0, completion));
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or TaskCanceledException)
        {
            return (false, 0, 0, 0);
        }
    }

    private static double? PeakRssMb() => Status("VmHWM:");

    private static double? RssMb() => Status("VmRSS:");

    private static double? Status(string key)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return null;
        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        return line is null ? null : long.Parse(line[key.Length..].Trim().Split(' ')[0]) / 1024.0;
    }
}
