using GovSg.LoadGenerator.Measurement;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// The measured window of a load run: from the first measured send to the last measured answer. A batch request counts
/// its messages as accepted when it is answered 200 (every item of the benchmark's batches is valid).
/// </summary>
internal sealed record LoadResult(
    LoadPlan Plan,
    LatencyHistogram Latency,
    LatencyHistogram Lateness,
    StatusCounts Statuses,
    long NotIssued,
    TimeSpan Window)
{
    public const int Created = 201;
    public const int BatchOk = 200;

    public static int Success(LoadPlan plan) => plan.BatchSize > 1 ? BatchOk : Created;

    public long Accepted => Statuses[Success(Plan)] * Plan.BatchSize;

    public double? AcceptedPerSecond => Window > TimeSpan.Zero ? Accepted / Window.TotalSeconds : null;
}
