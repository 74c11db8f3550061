using System.CommandLine;
using MiniLlmPipeline.Generation;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Stages.Serve;

// serve: an OpenAI-compatible HTTP server (and a chat page at /) over a completed stage's checkpoint.
var from = new Option<string>("--from") { Description = "Stage whose checkpoint to serve (sft, dpo, ppo, pretrain, ...)", DefaultValueFactory = _ => StageCatalog.Sft.Name };
var host = new Option<string>("--host") { Description = "Address to listen on (0.0.0.0 for every interface)", DefaultValueFactory = _ => "127.0.0.1" };
var port = new Option<int>("--port") { DefaultValueFactory = _ => 8080 };
var apiKey = new Option<string?>("--api-key") { Description = "Require 'Authorization: Bearer <key>' on /v1 (default: $MINILLM_API_KEY; none = open)" };
var modelName = new Option<string?>("--model-name") { Description = "The model id clients name (default: <pipeline>-<stage>)" };
var raw = new Option<bool>("--raw") { Description = "No chat template: chat messages are concatenated as plain text (default for pretrain)" };
var maxBatch = new Option<int>("--max-batch") { Description = "Rows decoded together", DefaultValueFactory = _ => 32 };
var maxQueue = new Option<int>("--max-queue") { Description = "Requests waiting beyond the batch; more get 429", DefaultValueFactory = _ => 64 };
var maxTokens = new Option<int>("--max-tokens") { Description = "Largest max_tokens a request may ask for", DefaultValueFactory = _ => 1024 };
var defaultMaxTokens = new Option<int>("--default-max-tokens") { Description = "max_tokens when a request gives none", DefaultValueFactory = _ => 256 };
var maxBody = new Option<long>("--max-body-bytes") { DefaultValueFactory = _ => 1 << 20 };
var threads = new Option<int?>("--threads") { Description = "libtorch threads of the decode thread (default: the physical cores)" };

var command = new RootCommand("Serve a stage's checkpoint over an OpenAI-compatible API with continuous batching")
{
    StageCli.PipelineOption, StageCli.SetOption, StageCli.DeviceOption,
    from, host, port, apiKey, modelName, raw, maxBatch, maxQueue, maxTokens, defaultMaxTokens, maxBody, threads,
};
command.SetAction(parsed => StageCli.Guard("serve", () =>
{
    var spec = StageCli.LoadSpec(parsed.GetValue(StageCli.PipelineOption)!, parsed.GetValue(StageCli.SetOption) ?? [], parsed.GetValue(StageCli.DeviceOption));
    var stage = parsed.GetValue(from)!;
    var limits = new ServeLimits
    {
        MaxBatch = parsed.GetValue(maxBatch), MaxQueue = parsed.GetValue(maxQueue), MaxTokens = parsed.GetValue(maxTokens),
        DefaultMaxTokens = parsed.GetValue(defaultMaxTokens), MaxBodyBytes = parsed.GetValue(maxBody),
        Threads = parsed.GetValue(threads) ?? MiniLlmPipeline.Training.TorchRuntime.ChooseThreads(),
    };
    if (limits.Problems().FirstOrDefault() is { Key: not null } problem)
        throw new ArgumentException($"--{problem.Key.Replace('_', '-')} {problem.Problem}");
    var dir = RunFolders.CompletedStageDir(spec, stage, "serve");
    var generator = TextGenerator.Load(dir, DeviceSelector.Resolve(spec.Device), chat: !parsed.GetValue(raw) && stage != StageCatalog.Pretrain.Name);
    generator.Model.eval();
    var options = new ServeOptions
    {
        ModelName = parsed.GetValue(modelName) ?? $"{spec.Name}-{stage}",
        Limits = limits,
        ApiKey = parsed.GetValue(apiKey) is { Length: > 0 } key ? key
            : Environment.GetEnvironmentVariable("MINILLM_API_KEY") is { Length: > 0 } fromEnv ? fromEnv : null,
    };
    var url = $"http://{parsed.GetValue(host)}:{parsed.GetValue(port)}";
    using var app = ServeApp.Build(generator, options, url);
    app.Start();
    Console.Error.WriteLine($"serve: {options.ModelName} ({dir}, context {generator.Model.Config.MaxSeqLen} tokens) on {ServeApp.Address(app)}" +
                            $"{(options.ApiKey is null ? "" : ", API key required")}; chat page at {ServeApp.Address(app)}/");
    app.WaitForShutdown();
    return StageCli.ExitOk;
}));
return command.Parse(args).Invoke();
