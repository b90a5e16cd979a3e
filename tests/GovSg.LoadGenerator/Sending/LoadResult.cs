using GovSg.LoadGenerator.Measurement;

namespace GovSg.LoadGenerator.Sending;

/// <summary>The measured window of a load run: from the first measured send to the last measured answer.</summary>
internal sealed record LoadResult(
    LoadPlan Plan,
    LatencyHistogram Latency,
    StatusCounts Statuses,
    long NotIssued,
    TimeSpan Window)
{
    public const int Created = 201;

    public long Accepted => Statuses[Created];

    public double? AcceptedPerSecond => Window > TimeSpan.Zero ? Accepted / Window.TotalSeconds : null;
}
