namespace MiniLlmPipeline.Evaluation;

/// <summary>
/// The verdict of <see cref="PoetryFormChecker"/>: <paramref name="Compliant"/> when the text is exactly the
/// requested form; <paramref name="Score"/> in [0, 1] gives partial credit; <paramref name="Reason"/> says
/// what is wrong in one line ("ok" when compliant). Next to the verdict and not part of it: <paramref name="Rhymes"/>
/// when the even verses all end in one modern rhyme track, and <paramref name="RhymeScore"/> the fraction of the
/// expected even verses that do (<see cref="RhymeCheck"/>).
/// </summary>
public sealed record FormCheck(bool Compliant, double Score, string Reason, bool Rhymes = false, double RhymeScore = 0);
