using MiniLlmPipeline.IO;
using MiniLlmPipeline.Model;
using MiniLlmPipeline.Pipeline;
using MiniLlmPipeline.Rlhf;
using MiniLlmPipeline.Tokenization;
using MiniLlmPipeline.Training;
using TorchSharp;

namespace MiniLlmPipeline.Stages.Distill;

/// <summary>
/// Setup → train → save for distillation: load the teacher once (frozen, eval mode), check that it speaks the student's
/// tokenizer, build a student of the block's own <c>model:</c> from random weights, train it on the chosen data with the
/// shared trainer, and write it as a normal checkpoint (eval, generate, export and serve read it like any other).
/// </summary>
internal static class DistillRecipe
{
    public static IReadOnlyDictionary<string, double> Run(StageContext<DistillConfig> context)
    {
        var (config, spec) = (context.Config, context.Spec);
        var tokenizeDir = context.UpstreamDir(config.From);
        var tokenizerDir = Path.Combine(tokenizeDir, TokenizedCorpus.TokenizerDir);
        var tokenizer = TextTokenizer.Load(tokenizerDir);
        var studentConfig = GptConfig.From(spec.ModelOf(context.Stage), tokenizer.VocabSize);

        var teacherDir = context.UpstreamDir(config.Teacher);
        var upstream = UpstreamModel.Load(teacherDir, spec.ModelOf(config.Teacher), context.Device);
        using var teacher = FrozenModel.Freeze(upstream.Model);
        EnsureSameTokenizer(context, upstream, tokenizerDir, tokenizer.VocabSize);
        if (studentConfig.MaxSeqLen > teacher.Config.MaxSeqLen)
            throw new StageInputException($"{context.Key("model.max_seq_len")}: the student's {studentConfig.MaxSeqLen} is longer than " +
                $"the teacher's {teacher.Config.MaxSeqLen} ({Path.Combine(teacherDir, ModelCheckpoint.ConfigFile)}), so the teacher cannot read its windows");

        var maxLength = studentConfig.MaxSeqLen;
        var conversations = config.Dataset == DistillConfig.Conversations
            ? ConversationBatches.Load(config.Data!, config.ValData, tokenizer, maxLength, config.BatchSize, config.EvalBatches,
                spec.Seed, context.Device, context.Log)
            : null;
        using var text = conversations is null
            ? TextWindowBatches.Open(tokenizeDir, tokenizer, config.Data, config.ValData, config.BatchSize, maxLength, spec.Seed,
                config.EvalBatches, context.Device)
            : null;
        NextTokenBatches data = conversations ?? (NextTokenBatches)text!;

        torch.manual_seed(spec.Seed);
        using var student = new Gpt(studentConfig);
        student.to(context.Device);
        context.Log($"student {student.ParameterCount / 1e6:F2}M parameters (d_model {studentConfig.DModel}, {studentConfig.NLayers} layers), " +
                    $"teacher '{config.Teacher}' {teacher.ParameterCount / 1e6:F2}M; {data.ItemsPerEpoch:N0} training " +
                    $"{(conversations is null ? "windows of text" : "conversations")}, τ {config.Temperature:G4}, α {config.Alpha:G4}{(config.Alpha == 0 ? " (no teacher: the baseline)" : "")}, device {context.Device.type}");

        var objective = new DistillObjective(student, teacher, data, config.Temperature, config.Alpha);
        var title = $"distillation loss (τ = {config.Temperature:G4}, α = {config.Alpha:G4})";
        var result = new Trainer(context.TrainerOptions(title, student.FlopsPerToken((int)data.MeanLength)))
            .Train(student, objective, config, config.ResolveSteps(data.ItemsPerEpoch));

        ModelCheckpoint.Save(context.StageDir, student, tokenizerDir);

        var metrics = result.ToMetrics();
        metrics["parameters"] = student.ParameterCount;
        metrics["teacher_parameters"] = teacher.ParameterCount;
        if (conversations is not null)
        {
            metrics["train_examples"] = conversations.Sequences.Count;
            metrics["dropped_examples"] = conversations.Dropped;
        }
        return metrics;
    }

    /// <summary>
    /// Distillation matches next-token distributions token id by token id, so the teacher's tokenizer must be the student's:
    /// the same size and the same files (two tokenize runs of one vocab_size on different text give different tokens).
    /// </summary>
    private static void EnsureSameTokenizer(StageContext<DistillConfig> context, UpstreamModel teacher, string studentTokenizerDir, int studentVocab)
    {
        var config = context.Config;
        if (teacher.Tokenizer.VocabSize != studentVocab)
            throw new StageInputException($"{context.Key("teacher")}: the teacher '{config.Teacher}' has a vocabulary of {teacher.Tokenizer.VocabSize} tokens " +
                $"({teacher.TokenizerDir}) but the student's tokenizer from '{config.From}' has {studentVocab}; distillation needs the teacher's tokenizer " +
                $"(train the teacher on '{config.From}', or name its own tokenize stage in from:)");
        if (!SameFiles(teacher.TokenizerDir, studentTokenizerDir))
            throw new StageInputException($"{context.Key("teacher")}: the teacher '{config.Teacher}''s tokenizer ({teacher.TokenizerDir}) differs from " +
                $"the student's ({studentTokenizerDir}) though both have {studentVocab} tokens; distillation needs the teacher's tokenizer " +
                $"(train the teacher on '{config.From}', or name its own tokenize stage in from:)");
    }

    private static bool SameFiles(string a, string b)
    {
        static SortedDictionary<string, string> Hashes(string dir) =>
            new(Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), ContentHash.OfFile), StringComparer.Ordinal);
        var (left, right) = (Hashes(a), Hashes(b));
        return left.Count == right.Count && left.All(kv => right.TryGetValue(kv.Key, out var hash) && hash == kv.Value);
    }
}
