namespace GovSg.Tests.Integration;

/// <summary>A clock <paramref name="lead"/> ahead of this machine's, as another node's may be.</summary>
internal sealed class LeadingTime(TimeSpan lead) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + lead;
}
