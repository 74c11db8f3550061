using System.CommandLine;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Generate;

// generate: sample from any completed stage's checkpoint — one --prompt, a Parquet of prompts, or an interactive chat.
var from = new Option<string>("--from") { Description = "Stage whose checkpoint to load (pretrain, sft, dpo, ppo, ...)", DefaultValueFactory = _ => StageCatalog.Sft.Name };
var prompt = new Option<string?>("--prompt") { Description = "One prompt; the completion goes to stdout" };
var prompts = new Option<string?>("--prompts") { Description = "Parquet file with a 'prompt' column; completions go to --out or stdout" };
var output = new Option<string?>("--out") { Description = "With --prompts: write a Parquet file with 'prompt' and 'response' columns" };
var raw = new Option<bool>("--raw") { Description = "Continue the text as-is instead of applying the chat template (default for pretrain)" };
var maxNew = new Option<int>("--max-new-tokens") { DefaultValueFactory = _ => 96 };
var temperature = new Option<double>("--temperature") { DefaultValueFactory = _ => 0.8 };
var topK = new Option<int>("--top-k") { Description = "0 disables top-k", DefaultValueFactory = _ => 0 };
var topP = new Option<double>("--top-p") { DefaultValueFactory = _ => 0.95 };
var greedy = new Option<bool>("--greedy") { Description = "Always take the most likely token" };
var minP = new Option<double>("--min-p") { Description = "Drop tokens below min_p × the top probability (0 disables)", DefaultValueFactory = _ => 0 };
var repetitionPenalty = new Option<double>("--repetition-penalty") { Description = "CTRL's penalty on tokens already generated (1 disables)", DefaultValueFactory = _ => 1 };
var frequencyPenalty = new Option<double>("--frequency-penalty") { Description = "OpenAI's frequency penalty (0 disables)", DefaultValueFactory = _ => 0 };
var presencePenalty = new Option<double>("--presence-penalty") { Description = "OpenAI's presence penalty (0 disables)", DefaultValueFactory = _ => 0 };
var seed = new Option<int?>("--seed") { Description = "Sampling seed (default: the pipeline's seed)" };

var command = new RootCommand("Generate text from a stage's checkpoint (KV-cached sampling)")
{
    StageCli.PipelineOption, StageCli.SetOption, StageCli.DeviceOption,
    from, prompt, prompts, output, raw, maxNew, temperature, topK, topP, greedy, minP, repetitionPenalty, frequencyPenalty, presencePenalty, seed,
};
command.SetAction(parsed => StageCli.Guard("generate", () =>
{
    var spec = StageCli.LoadSpec(parsed.GetValue(StageCli.PipelineOption)!, parsed.GetValue(StageCli.SetOption) ?? [], parsed.GetValue(StageCli.DeviceOption));
    var stage = parsed.GetValue(from)!;
    var session = GenerationSession.Open(spec, stage, chat: !parsed.GetValue(raw) && stage != StageCatalog.Pretrain.Name,
        new() { MaxNewTokens = parsed.GetValue(maxNew), Temperature = parsed.GetValue(temperature), TopK = parsed.GetValue(topK),
                TopP = parsed.GetValue(topP), Greedy = parsed.GetValue(greedy), MinP = parsed.GetValue(minP),
                RepetitionPenalty = parsed.GetValue(repetitionPenalty), FrequencyPenalty = parsed.GetValue(frequencyPenalty),
                PresencePenalty = parsed.GetValue(presencePenalty) },
        parsed.GetValue(seed) ?? spec.Seed);
    if (parsed.GetValue(prompt) is { } one) Console.WriteLine(session.Complete([one])[0]);
    else if (parsed.GetValue(prompts) is { } file) session.CompleteFile(file, parsed.GetValue(output));
    else session.Chat(Console.In, Console.Out);
    return StageCli.ExitOk;
}));
return command.Parse(args).Invoke();
