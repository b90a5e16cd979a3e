namespace GovSg.Contracts;

/// <summary>Send the message with this id to the provider. Carries the id only, never the recipient or params.</summary>
public sealed record SendMessage(long MessageId);
