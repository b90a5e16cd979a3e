namespace GovSg.LoadGenerator.Cli;

/// <summary>A command line the tool cannot run; the message says what to change.</summary>
internal sealed class UsageException(string message) : Exception(message);
