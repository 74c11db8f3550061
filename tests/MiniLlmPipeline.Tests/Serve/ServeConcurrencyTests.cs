using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MiniLlmPipeline.Stages.Serve;

namespace MiniLlmPipeline.Tests.Serve;

/// <summary>Continuous batching: concurrent clients decode together, each exactly as it would alone; a client leaving frees its row.</summary>
public class ServeConcurrencyTests
{
    [Fact]
    public async Task SixteenConcurrentStreams_AllComplete_EachAsItWouldAlone_WithCorrectUsage()
    {
        await using var host = await ServeHost.Start();
        // Different prompt lengths and budgets, so rows join and leave the batch at different steps.
        var prompts = Enumerable.Range(0, 16).Select(i => (User: "诗" + new string('月', i % 5) + i, MaxTokens: 8 + 3 * i)).ToList();
        var alone = new List<StreamResult>();
        foreach (var (user, maxTokens) in prompts) alone.Add(await host.Complete(user, maxTokens));

        var together = await Task.WhenAll(prompts.Select(p => host.Stream(p.User, p.MaxTokens)));

        Assert.True(host.Scheduler.PeakRows > 1, $"requests were never batched (peak {host.Scheduler.PeakRows} rows)");
        for (var i = 0; i < prompts.Count; i++)
        {
            Assert.Equal(host.PromptTokens(prompts[i].User), together[i].PromptTokens);
            Assert.Equal(alone[i].CompletionTokens, together[i].CompletionTokens);
            Assert.Equal(alone[i].Finish, together[i].Finish);
            Assert.Equal(alone[i].Text, together[i].Text);
            Assert.Equal(together[i].Finish == "length", together[i].CompletionTokens == prompts[i].MaxTokens);
        }
        await WaitForIdle(host);
    }

    [Fact]
    public async Task SeededSampling_IsTheSameAloneAndBatched_AndNChoicesDiffer()
    {
        await using var host = await ServeHost.Start();
        const string seeded = """{"messages":[{"role":"user","content":"春"}],"max_tokens":20,"temperature":1,"top_p":0.9,"seed":42}""";
        var alone = await Texts(host, seeded);

        // The same seeded request four times, batched with four unseeded ones: its own generator makes it repeat.
        var batched = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Texts(host, i % 2 == 0 ? seeded : seeded.Replace(",\"seed\":42", ""))));
        Assert.All(batched.Where((_, i) => i % 2 == 0), b => Assert.Equal(alone, b));

        const string three = """{"messages":[{"role":"user","content":"春"}],"max_tokens":20,"temperature":1,"seed":7,"n":3}""";
        var choices = await Texts(host, three);
        Assert.Equal(3, choices.Count);
        Assert.True(choices.Distinct().Count() > 1, "n choices with one seed must still differ");
        Assert.Equal(choices, await Texts(host, three));
    }

    private static async Task<List<string>> Texts(ServeHost host, string body)
    {
        using var response = await host.Post("/v1/chat/completions", body);
        Assert.Equal(200, (int)response.StatusCode);
        var root = await response.Content.ReadFromJsonAsync<JsonElement>();
        var choices = root.GetProperty("choices").EnumerateArray().ToList();
        var completion = root.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        Assert.True(completion <= 20 * choices.Count && completion >= choices.Count, $"completion_tokens {completion}");
        return choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()!).ToList();
    }

    [Fact]
    public async Task AClientLeavingMidStream_FreesItsRow_AndTheNextRequestsAreServed()
    {
        await using var host = await ServeHost.Start(new ServeLimits { MaxBatch = 1, MaxQueue = 4, MaxTokens = 120 });
        // 20 ms a step: the 110-token stream would hold the batch's one row for over 2 s.
        host.Scheduler.StepDelay = TimeSpan.FromMilliseconds(20);
        // No draining: HttpClient otherwise reads an abandoned response to its end (up to 2 s) to reuse the connection,
        // and the server would never see the client leave.
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0, ResponseDrainTimeout = TimeSpan.Zero }) { BaseAddress = new Uri(host.Address) };
        for (var round = 0; round < 3; round++)
        {
            using (var cancel = new CancellationTokenSource())
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
                // ignore_eos: a stream that happened to sample an end token would finish by itself, and no client would leave.
                { Content = new StringContent(ServeHost.Chat("长", 110, stream: true, temperature: 1, extra: ",\"ignore_eos\":true"), Encoding.UTF8, "application/json") };
                var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
                var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
                for (var lines = 0; lines < 4; lines++) Assert.NotNull(await reader.ReadLineAsync(cancel.Token)); // role chunk + a content chunk
                Assert.True(host.Scheduler.ActiveRows == 1);
                cancel.Cancel();
                response.Dispose();
            }
            var left = System.Diagnostics.Stopwatch.StartNew();
            await WaitForIdle(host);
            Assert.True(left.ElapsedMilliseconds < 1500, $"the row was freed only after {left.ElapsedMilliseconds} ms");
            // The one row of the batch is free again: a request completes.
            Assert.InRange((await host.Complete("下一个", 5)).CompletionTokens, 1, 5);
        }
        Assert.Equal(3, host.Log.ToString().Split('\n').Count(l => l.Contains("client-gone")));
    }

    private static async Task WaitForIdle(ServeHost host)
    {
        for (var i = 0; i < 500 && (host.Scheduler.ActiveRows > 0 || host.Scheduler.Queued > 0); i++) await Task.Delay(10);
        Assert.Equal(0, host.Scheduler.ActiveRows);
        Assert.Equal(0, host.Scheduler.Queued);
    }
}
