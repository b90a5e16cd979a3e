namespace GovSg.Tests.Integration;

/// <summary>A clock that runs <paramref name="lead"/> ahead of this machine's (behind, when negative); timers are real.</summary>
internal sealed class LeadingTime(TimeSpan lead) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + lead;
}
