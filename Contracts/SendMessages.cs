namespace GovSg.Contracts;

/// <summary>
/// Send the messages with these ids to the provider: one command for many messages accepted together (a batch send),
/// so a batch does not cost one broker message per message. Carries ids only, never recipients or params.
/// </summary>
public sealed record SendMessages(long[] MessageIds);
