using Spectre.Console;

namespace MiniLlmPipeline.Training;

/// <summary>
/// Live progress: a Spectre.Console bar (step, loss, lr, tokens/s, ETA) when stderr is a terminal,
/// plain log lines otherwise (CI, pipes), so logs stay readable in both places.
/// </summary>
public sealed class ProgressReporter
{
    private readonly string _stage;
    private readonly int _total;
    private ProgressTask? _task;
    private IAnsiConsole? _console;

    private ProgressReporter(string stage, int total)
    {
        _stage = stage;
        _total = total;
    }

    public static bool IsInteractive => !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("CI") is null;

    /// <summary>Runs <paramref name="body"/> with a reporter; the bar lives for the duration of the call.</summary>
    public static void Run(string stage, int startStep, int totalSteps, Action<ProgressReporter> body) =>
        Run<object?>(stage, startStep, totalSteps, reporter => { body(reporter); return null; });

    /// <summary>Runs <paramref name="body"/> with a reporter and returns its result; the bar lives for the duration of the call.</summary>
    public static T Run<T>(string stage, int startStep, int totalSteps, Func<ProgressReporter, T> body)
    {
        var reporter = new ProgressReporter(stage, totalSteps);
        if (!IsInteractive) return body(reporter);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        reporter._console = console;
        return console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                reporter._task = ctx.AddTask($"[{stage}]", maxValue: totalSteps);
                reporter._task.Value = startStep;
                return body(reporter);
            });
    }

    public void Step(int step, double loss, double lr, double tokensPerSecond, bool logLine)
    {
        var line = $"[{_stage}] step {step}/{_total} loss {loss:F4} lr {lr:G3} {tokensPerSecond:F0} tok/s";
        if (_task is not null)
        {
            _task.Value = step;
            _task.Description = line;
        }
        else if (logLine)
        {
            Console.Error.WriteLine(line);
        }
    }

    /// <summary>A log line; while the bar is live it goes through the bar's console, so the two do not interleave.</summary>
    public void Message(string message)
    {
        if (_console is not null) _console.MarkupLine(Markup.Escape($"[{_stage}] {message}"));
        else Console.Error.WriteLine($"[{_stage}] {message}");
    }
}
