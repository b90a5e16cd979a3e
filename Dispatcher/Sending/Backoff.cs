namespace GovSg.Dispatcher.Sending;

/// <summary>The one backoff the Dispatcher's retries grow by: sends, callbacks, parked statuses and outcome writes.</summary>
public static class Backoff
{
    /// <summary><paramref name="first"/> × 2^(attempt−1), at most <paramref name="max"/>.</summary>
    public static TimeSpan Exponential(TimeSpan first, TimeSpan max, int attempt) =>
        TimeSpan.FromTicks((long)Math.Min(max.Ticks, first.Ticks * Math.Pow(2, Math.Clamp(attempt - 1, 0, 30))));

    /// <summary>Full jitter: <paramref name="random"/> (uniform in [0, 1)) of <see cref="Exponential"/>.</summary>
    public static TimeSpan FullJitter(TimeSpan first, TimeSpan max, int attempt, double random) =>
        Exponential(first, max, attempt) * random;
}
