using GovSg.LoadGenerator.Measurement;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// Keeps <see cref="LoadPlan.Concurrency"/> requests outstanding (closed loop): each worker sends again as soon as its
/// answer arrives, which finds the most the system sustains. Latency counts from each request's start.
/// </summary>
internal sealed class ClosedLoopDriver(SendClient client, SendingUsers users, Recipients recipients, TimeProvider time)
{
    public async Task<LoadResult> RunAsync(LoadPlan plan, CancellationToken cancellationToken)
    {
        var concurrency = plan.Concurrency ?? throw new ArgumentException("a closed-loop plan needs a concurrency", nameof(plan));
        var clock = RunClock.StartNow(time);
        var measuredFrom = clock.At(plan.Warmup);
        var until = plan.Duration is { } duration ? clock.At(plan.Warmup + duration) : long.MaxValue;
        var budget = plan.Messages ?? long.MaxValue;
        var recorder = new LoadRecorder(clock, LoadResult.Success(plan));
        long issued = 0;

        async Task WorkAsync()
        {
            while (true)
            {
                var send = Interlocked.Increment(ref issued) - 1;
                var startedAt = clock.Now();
                if (send >= budget || startedAt >= until)
                {
                    return;
                }

                var measured = startedAt >= measuredFrom;
                var status = await client.SendAsync(plan.BatchSize, users.For(send, measured), recipients, cancellationToken);
                if (measured)
                {
                    recorder.Completed(status, startedAt);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => WorkAsync()));
        return recorder.Result(plan, measuredFrom);
    }
}
