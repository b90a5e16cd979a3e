namespace GovSg.Contracts;

/// <summary>
/// Send the message with this id to the provider. Carries the id only, never the recipient or params.
/// <see cref="Test"/> says it is a test key's message (SPEC §11.2), which takes no call slot of the number's pace.
/// </summary>
public sealed record SendMessage(long MessageId, bool Test = false);
