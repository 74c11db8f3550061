// Placeholder until the pretrain stage lands; see the issue tracker.
Console.Error.WriteLine("pretrain: not implemented yet");
return 2;
