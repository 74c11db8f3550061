using Microsoft.Playwright;

namespace MiniLlmPipeline.Tests.Serve;

/// <summary>
/// The chat page in a real headless browser: Debian's chromium (installed by build/chromium/ensure-chromium.sh, a
/// prerequisite of make test) driven by Microsoft.Playwright, since Playwright's own browser download is unreachable.
/// With MINILLM_SERVE_CHECKPOINT=&lt;stage folder&gt; it serves that checkpoint instead of the random model, and
/// MINILLM_SERVE_SCREENSHOT=&lt;png&gt; copies the screenshot there (how docs/serve-chat.png is made).
/// </summary>
public class ServeBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";
    private const string First = "以《春望》为题写一首五言绝句";

    [Fact]
    public async Task ThePage_SendsAMessage_AndShowsTheAnswerAsItStreams_OnAPhoneSizedScreen()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run build/chromium/ensure-chromium.sh (make test does)");
        await using var host = await ServeHost.Start(checkpoint: Environment.GetEnvironmentVariable("MINILLM_SERVE_CHECKPOINT"));
        host.Scheduler.StepDelay = TimeSpan.FromMilliseconds(15); // slow enough that the text arrives in visible pieces
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium, Headless = true,
            Args = Environment.UserName == "root" ? ["--no-sandbox"] : [],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 390, Height = 720 }, DeviceScaleFactor = 1 });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(host.Address + "/");
        await Assertions.Expect(page.Locator("#title")).ToHaveTextAsync(ServeHost.ModelName);

        // Count the answer's text updates: streaming shows it in several pieces, not once at the end.
        await page.EvaluateAsync("""
            window.updates = 0;
            new MutationObserver(() => window.updates++).observe(document.getElementById('log'), { childList: true, subtree: true, characterData: true });
            """);
        await page.Locator("#toggle-settings").ClickAsync();
        await page.Locator("#max_tokens").FillAsync("64");
        await page.Locator("#temperature").FillAsync("0");
        await page.Locator("#input").FillAsync(First);
        await page.Locator("#input").PressAsync("Enter");

        var answer = page.Locator(".msg.assistant").First;
        await Assertions.Expect(answer).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        await Assertions.Expect(answer.Locator(".meta")).ToContainTextAsync("tokens");
        Assert.Equal(First, await page.Locator(".msg.user").First.InnerTextAsync());
        var expected = (await host.Complete(First, 64)).Text;
        Assert.Equal(expected, await answer.EvaluateAsync<string>("e => e.firstChild.textContent"));
        Assert.True(await page.EvaluateAsync<int>("window.updates") > 3, "the answer did not stream");

        // A second turn carries the conversation: the server sees both user turns and the first answer.
        await page.Locator("#input").FillAsync("再写一首七言绝句");
        await page.Locator("#send").ClickAsync();
        // (The tiny model's 128-token context cannot hold both turns: the page leaves the first exchange out and retries.)
        await Assertions.Expect(page.Locator(".msg.assistant").Nth(1)).ToHaveAttributeAsync("data-state", "done", new() { Timeout = 30_000 });
        Assert.Equal(0, await page.Locator(".msg.error").CountAsync());
        Assert.Empty(errors);

        var shots = Path.Combine(AppContext.BaseDirectory, "test-output");
        Directory.CreateDirectory(shots);
        await page.Locator("#toggle-settings").ClickAsync(); // settings closed again: the conversation fills the screen
        var shot = Path.Combine(shots, "serve-chat-page.png");
        await page.ScreenshotAsync(new() { Path = shot });
        if (Environment.GetEnvironmentVariable("MINILLM_SERVE_SCREENSHOT") is { Length: > 0 } copy) File.Copy(shot, copy, overwrite: true);
        Assert.Matches(@"prompt_tokens=\d{2,}", host.Log.ToString().Split('\n').Last(l => l.Length > 0));
    }
}
