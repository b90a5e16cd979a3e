namespace GovSg.LoadGenerator.Pipeline;

/// <summary>The pipeline half of a report: how the drain went, the timings, and where the messages came to rest.</summary>
internal sealed record PipelineResult(DrainOutcome Drain, PipelineStats Stats, IReadOnlyList<(string Status, long Count)> Statuses)
{
    public static async Task<PipelineResult> CollectAsync(PipelineStore store, DrainWaiter waiter, long[] userIds, DateTime since,
        DrainTarget target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var drain = await waiter.WaitAsync(userIds, since, target, timeout, cancellationToken);
        var stats = await store.StatsAsync(userIds, since, cancellationToken);
        var statuses = await store.StatusCountsAsync(userIds, since, cancellationToken);
        return new PipelineResult(drain, stats, statuses);
    }
}
