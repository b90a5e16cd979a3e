namespace GovSg.LoadGenerator.Pipeline;

/// <summary>The pipeline half of a report: how the drain went, the timings, and where the messages came to rest.</summary>
internal sealed record PipelineResult(DrainOutcome Drain, PipelineStats Stats, IReadOnlyList<(string Status, long Count)> Statuses)
{
    public static async Task<PipelineResult> CollectAsync(PipelineStore store, DrainWaiter waiter, long[] userIds, DrainTarget target,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        var drain = await waiter.WaitAsync(userIds, target, timeout, cancellationToken);
        var stats = await store.StatsAsync(userIds, cancellationToken);
        var statuses = await store.StatusCountsAsync(userIds, cancellationToken);
        return new PipelineResult(drain, stats, statuses);
    }
}
