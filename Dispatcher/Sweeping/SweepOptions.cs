using System.ComponentModel.DataAnnotations;

namespace GovSg.Dispatcher.Sweeping;

public sealed class SweepOptions
{
    public const string SectionName = "Sweep";

    /// <summary>The least time between two sweeps while work stays due (a backlog, a broker away).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")] public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest the sweeper sleeps without looking at the database, for what other processes made due; it never
    /// sleeps longer than the pick-up deadline or the claim lease either, so it learns of a message or a claim before
    /// it can fall due.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")] public TimeSpan MaxInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A re-published command not picked up within this time is published again.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")] public TimeSpan PickUpDeadline { get; set; } = TimeSpan.FromSeconds(60);

    [Range(1, 100_000)] public int BatchSize { get; set; } = 1_000;

    /// <summary>
    /// Messages in the send queue (its ready commands times the ids a command has lately carried) above which a command
    /// past its pick-up deadline is presumed still queued (a sweep's own, until the queue has moved past it), so a backlog
    /// never triggers mass re-publishing.
    /// </summary>
    [Range(0, 10_000_000)] public int BacklogThreshold { get; set; } = 1_000;
}
