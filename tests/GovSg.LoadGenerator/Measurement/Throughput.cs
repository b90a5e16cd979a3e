namespace GovSg.LoadGenerator.Measurement;

internal static class Throughput
{
    /// <summary>
    /// Runs the operation in <paramref name="concurrency"/> loops, each starting the next as soon as the last finishes,
    /// and returns completions per second over <paramref name="duration"/>, counted after <paramref name="warmup"/>.
    /// </summary>
    public static async Task<double> MeasureAsync(int concurrency, TimeSpan warmup, TimeSpan duration,
        Func<CancellationToken, Task> operation, TimeProvider time, CancellationToken cancellationToken)
    {
        var clock = RunClock.StartNow(time);
        var countFrom = clock.At(warmup);
        var until = clock.At(warmup + duration);
        long completed = 0;

        async Task LoopAsync()
        {
            while (true)
            {
                await operation(cancellationToken);
                var now = clock.Now();
                if (now >= until)
                {
                    return;
                }

                if (now >= countFrom)
                {
                    Interlocked.Increment(ref completed);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => LoopAsync()));
        return completed / duration.TotalSeconds;
    }
}
