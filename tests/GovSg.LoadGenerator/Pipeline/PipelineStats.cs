namespace GovSg.LoadGenerator.Pipeline;

/// <summary>A run's timings as recorded in PostgreSQL; milliseconds, and null where no message got that far.</summary>
internal sealed class PipelineStats
{
    public double? AcceptedP50Ms { get; init; }
    public double? AcceptedP99Ms { get; init; }
    public double? AcceptedMaxMs { get; init; }
    public double? ReadP50Ms { get; init; }
    public double? ReadP99Ms { get; init; }
    public double? ReadMaxMs { get; init; }
    public long Accepted { get; init; }
    public long Read { get; init; }
    public DateTime? FirstAcceptedAt { get; init; }
    public DateTime? LastAcceptedAt { get; init; }
    public DateTime? LastReadAt { get; init; }
    public DateTime? SteadyFrom { get; init; }
    public DateTime? SteadyUntil { get; init; }
    public long SteadyAccepted { get; init; }

    /// <summary>ACCEPTED writes per second over the steady window (the middle 90% of them).</summary>
    public double? DispatcherThroughput => PerSecond(SteadyAccepted, SteadyFrom, SteadyUntil);

    /// <summary>From the first ACCEPTED write (the dispatchers at work) to the last: a backlog's drain time.</summary>
    public TimeSpan? AcceptedSpan => LastAcceptedAt - FirstAcceptedAt;

    public double? AcceptedSpanRate => PerSecond(Accepted, FirstAcceptedAt, LastAcceptedAt);

    /// <summary>From the first ACCEPTED write to the last READ: how long until every receipt was in.</summary>
    public TimeSpan? ReadSpan => LastReadAt - FirstAcceptedAt;

    public double? ReadSpanRate => PerSecond(Read, FirstAcceptedAt, LastReadAt);

    private static double? PerSecond(long count, DateTime? from, DateTime? until) =>
        until - from is { TotalSeconds: > 0 } span ? count / span.TotalSeconds : null;
}
