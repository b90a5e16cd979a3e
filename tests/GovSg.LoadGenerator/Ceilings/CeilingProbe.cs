namespace GovSg.LoadGenerator.Ceilings;

/// <summary>A throwaway message shaped like the SendMessage command (an id only), published to measure the broker.</summary>
public sealed record CeilingProbe(long MessageId);
