namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// The verdict of <see cref="PoetryFormChecker"/>: <paramref name="Compliant"/> when the text is exactly the
/// requested form; <paramref name="Score"/> in [0, 1] gives partial credit; <paramref name="Reason"/> says
/// what is wrong in one line ("ok" when compliant).
/// </summary>
public sealed record FormCheck(bool Compliant, double Score, string Reason);
