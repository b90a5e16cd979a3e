using System.ComponentModel.DataAnnotations;

namespace GovSg.Api.RateLimiting;

public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Read tokens a user regains per second (SPEC §7: gets, lists, templates, key reads, replays).</summary>
    [Range(1, 1_000_000)]
    public int ReadsPerSecond { get; set; } = 50;

    /// <summary>The most read tokens a user can hold.</summary>
    [Range(1, 1_000_000)]
    public int ReadBurst { get; set; } = 100;

    /// <summary>
    /// The most of one user's reads an Api runs at once with its live keys, and as many with its test keys
    /// (<see cref="ReadSlots"/>). Each holds a database connection while it runs; an honest agency's reads take
    /// milliseconds, so a few at once carry its whole read limit.
    /// </summary>
    [Range(1, 10_000)]
    public int ConcurrentReadsPerUser { get; set; } = 4;

    /// <summary>A user's reads waiting for one of its slots (per key type); beyond, 503.</summary>
    [Range(0, 1_000_000)]
    public int QueuedReadsPerUser { get; set; } = 1_000;

    /// <summary>
    /// The most reads an Api runs at once, of all users together: keep it well below the connection string's
    /// <c>Maximum Pool Size</c>, so that sends always find a connection however many agencies read.
    /// </summary>
    [Range(1, 10_000)]
    public int ConcurrentReads { get; set; } = 16;

    /// <summary>Reads waiting for one of the Api's slots (at most <see cref="ConcurrentReadsPerUser"/> of each user's); beyond, 503.</summary>
    [Range(0, 1_000_000)]
    public int QueuedReads { get; set; } = 10_000;

    /// <summary>How long a read waits for a slot before it is answered 503 with <c>Retry-After</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ReadSlotWait { get; set; } = TimeSpan.FromSeconds(10);
}
