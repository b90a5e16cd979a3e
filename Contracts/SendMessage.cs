namespace GovSg.Contracts; public sealed record SendMessage(long MessageId);
