using System.ComponentModel.DataAnnotations;

namespace GovSg.Dispatcher.TestKeys;

/// <summary>The simulated provider's timing for test messages (SPEC §11.2); each receipt is counted from acceptance.</summary>
public sealed class TestKeyOptions
{
    public const string SectionName = "TestKeys";

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")] public TimeSpan SentAfter { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")] public TimeSpan DeliveredAfter { get; set; } = TimeSpan.FromSeconds(2);

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")] public TimeSpan ReadAfter { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The longest the receipts loop sleeps when it knows of nothing due sooner. A dispatcher wakes its own loop when it
    /// accepts a test message; this finds the receipts of a message another dispatcher accepted and then lost (it
    /// stopped or died), so it is a safety net, not a poll.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")] public TimeSpan Rescan { get; set; } = TimeSpan.FromSeconds(30);

    [Range(1, 100_000)] public int BatchSize { get; set; } = 1_000;
}
