namespace GovSg.Api.RateLimiting;

/// <summary>A bucket's limits: it refills at <paramref name="Rate"/> tokens a second and holds at most <paramref name="Burst"/>.</summary>
public readonly record struct BucketLimit(int Rate, int Burst)
{
    /// <summary>The time one token takes to refill.</summary>
    public TimeSpan PerToken => TimeSpan.FromTicks(TimeSpan.TicksPerSecond / Rate);

    /// <summary>The time an empty bucket takes to fill.</summary>
    public TimeSpan Window => PerToken * Burst;

    public TimeSpan Cost(int tokens) => PerToken * tokens;
}

/// <summary>The outcome of a take, as the <c>RateLimit-*</c> and <c>Retry-After</c> headers report it (SPEC §7).</summary>
public sealed record TakeOutcome(bool Granted, int Limit, int Remaining, int ResetSeconds, int RetryAfterSeconds);

/// <summary>
/// Reads a bucket whose whole state is the time it will be full again (see 0008_token_buckets.sql, which takes the
/// tokens): what is left, when it is full, and how long a refused take must wait.
/// </summary>
public static class TokenBucket
{
    public static TakeOutcome Outcome(BucketLimit limit, int cost, bool granted, DateTime fullAt, DateTime now)
    {
        var untilFull = fullAt > now ? fullAt - now : TimeSpan.Zero;
        var remaining = (int)Math.Max(0, Math.Floor(limit.Burst - untilFull.TotalSeconds * limit.Rate));
        var retryAfter = granted ? 0 : Math.Max(1, WholeSeconds(untilFull + limit.Cost(cost) - limit.Window));
        return new TakeOutcome(granted, limit.Burst, remaining, WholeSeconds(untilFull), retryAfter);
    }

    /// <summary>
    /// The outcome of the <paramref name="place"/>-th (from 1) of several one-token takes coalesced into one take that got
    /// <paramref name="granted"/> tokens: the first ones are granted, each seeing the bucket as it left it.
    /// </summary>
    public static TakeOutcome SingleOutcome(BucketLimit limit, int granted, DateTime fullAt, int place, DateTime now) =>
        place <= granted
            ? Outcome(limit, 1, true, fullAt - limit.Cost(granted - place), now)
            : Outcome(limit, 1, false, fullAt, now);

    private static int WholeSeconds(TimeSpan time) => (int)Math.Ceiling(Math.Max(0, time.TotalSeconds));
}
