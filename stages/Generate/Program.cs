// Placeholder until the generate stage lands; see the issue tracker.
Console.Error.WriteLine("generate: not implemented yet");
return 2;
