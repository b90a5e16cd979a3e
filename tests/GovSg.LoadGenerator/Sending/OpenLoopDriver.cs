using GovSg.LoadGenerator.Measurement;
using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// Sends on a fixed schedule whatever the answers (open loop, see <see cref="ArrivalSchedule"/>). Each send's latency
/// counts from its due time, so a slow answer can neither delay the sends after it nor hide its own cost (no coordinated
/// omission). At most <see cref="LoadPlan.MaxInFlight"/> requests are outstanding; a send that falls due while the cap
/// is reached is not issued, and counted.
/// </summary>
internal sealed class OpenLoopDriver(SendClient client, SendingUsers users, Recipients recipients, TimeProvider time)
{
    // Sends that fall due within one tick go out together; a millisecond keeps the schedule tight without spinning a core
    // the system under test needs. The delay it adds is part of the measured latency.
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan DrainPoll = TimeSpan.FromMilliseconds(10);

    private int _inFlight;

    public async Task<LoadResult> RunAsync(LoadPlan plan, CancellationToken cancellationToken)
    {
        var schedule = new ArrivalSchedule(plan.Rate ?? throw new ArgumentException("an open-loop plan needs a rate", nameof(plan)),
            plan.Warmup, plan.Duration, plan.Messages);
        var clock = RunClock.StartNow(time);
        var recorder = new LoadRecorder(clock, LoadResult.Success(plan));

        for (long issued = 0; issued < schedule.Total;)
        {
            for (var due = schedule.DueBy(clock.Elapsed); issued < due; issued++)
            {
                var measured = issued >= schedule.WarmupSends;
                if (Interlocked.Increment(ref _inFlight) > plan.MaxInFlight)
                {
                    Interlocked.Decrement(ref _inFlight);
                    if (measured)
                    {
                        recorder.NotIssued();
                    }

                    continue;
                }

                var dueAt = clock.At(schedule.DueAt(issued));
                _ = SendAsync(plan.BatchSize, users.For(issued, measured), dueAt, measured ? recorder : null, cancellationToken);
            }

            await Task.Delay(Tick, time, cancellationToken);
        }

        // Every request ends within the HttpClient's timeout, so this wait is bounded.
        while (Volatile.Read(ref _inFlight) > 0)
        {
            await Task.Delay(DrainPoll, time, cancellationToken);
        }

        return recorder.Result(plan, clock.At(schedule.DueAt(schedule.WarmupSends)));
    }

    private async Task SendAsync(int batchSize, BenchUser user, long dueAt, LoadRecorder? recorder, CancellationToken cancellationToken)
    {
        try
        {
            recorder?.Issued(dueAt);
            var status = await client.SendAsync(batchSize, user, recipients, cancellationToken);
            recorder?.Completed(status, dueAt);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
