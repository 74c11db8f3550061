using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using MiniLlmPipeline.Stages.Export;
using MiniLlmPipeline.Tokenization;
using Xunit.Abstractions;

namespace MiniLlmPipeline.Tests.Export;

/// <summary>
/// The exported tokenizer.json read by implementations other than ours: Microsoft.ML.Tokenizers built from the file's
/// vocab, merges and added tokens, and the pure-JavaScript Hugging Face tokenizers library (tools/hf-tokenizers, the
/// code transformers.js runs), which also takes the file's pre-tokenizer regex and decoder.
/// </summary>
public sealed class TokenizerJsonTests(ExportFixture fixture, ITestOutputHelper output) : IClassFixture<ExportFixture>
{
    private string HfDir => fixture.Hf.Path;

    [Fact]
    public void MlTokenizers_FromTheFilesVocabMergesAndAddedTokens_GivesOurIds()
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(HfDir, HfTokenizerFiles.TokenizerJson)))!;
        var vocab = json["model"]!["vocab"]!.AsObject().Select(p => KeyValuePair.Create(p.Key, p.Value!.GetValue<int>()));
        var merges = json["model"]!["merges"]!.AsArray().Select(m => $"{m![0]!.GetValue<string>()} {m[1]!.GetValue<string>()}");
        var specials = json["added_tokens"]!.AsArray().ToDictionary(t => t!["content"]!.GetValue<string>(), t => t!["id"]!.GetValue<int>());
        Assert.Equal(HfTokenizerFiles.PortablePattern, json["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"]!.GetValue<string>());
        // .NET cannot compile the portable pattern's supplementary-plane range (it sees UTF-16), so this engine splits
        // with our own regex; the JavaScript test below is the one that reads the file's regex.
        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges, SpecialTokens = specials, ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(PreTokenSplitter.Regex, specials),
        });
        foreach (var text in ExportFixture.Texts)
            Assert.Equal(fixture.Tokenizer.Encode(text), bpe.EncodeToIds(text));
    }

    [Fact]
    public void HuggingFaceTokenizersJs_LoadingTheFolder_GivesOurIds_AndDecodesBack()
    {
        if (!OnPath("node"))
        {
            output.WriteLine("skipped: node is not on PATH, so the @huggingface/tokenizers check cannot run (install nodejs to run it)");
            return;
        }
        var tool = RepoPaths.Under("tools", "hf-tokenizers");
        if (!Directory.Exists(Path.Combine(tool, "node_modules", "@huggingface", "tokenizers")))
        {
            var install = Run("npm", tool, "ci", "--no-audit", "--no-fund");
            Assert.True(install.ExitCode == 0, $"npm ci in {tool} failed:\n{install.Output}");
        }
        var texts = fixture.TempPath("texts.json");
        File.WriteAllText(texts, JsonSerializer.Serialize(ExportFixture.Texts));
        var result = Run("node", tool, Path.Combine(tool, "encode.mjs"), HfDir, texts);
        Assert.True(result.ExitCode == 0, $"node encode.mjs failed:\n{result.Output}");
        var answer = JsonNode.Parse(result.Output)!;
        var tokens = 0;
        for (var i = 0; i < ExportFixture.Texts.Length; i++)
        {
            var ours = fixture.Tokenizer.Encode(ExportFixture.Texts[i]);
            Assert.Equal(ours, answer["ids"]![i]!.AsArray().Select(n => n!.GetValue<int>()));
            Assert.Equal(ExportFixture.Texts[i], answer["decoded"]![i]!.GetValue<string>());
            tokens += ours.Count;
        }
        output.WriteLine($"@huggingface/tokenizers: {ExportFixture.Texts.Length} texts, {tokens} tokens, all equal");
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(dir => File.Exists(Path.Combine(dir, program)));

    private static (int ExitCode, string Output) Run(string program, string workingDir, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = workingDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, process.ExitCode == 0 ? stdout : stdout + stderr.Result);
    }
}
