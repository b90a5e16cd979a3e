namespace GovSg.Dispatcher.Sweeping;

/// <summary>
/// When the sweeper next has work, as far as this process knows. The sweeper sleeps until the earliest due time it read
/// from the database; whatever this process later makes due sooner (a retry, a deferral, a hold, a parked status) is
/// reported here, so the sleep ends in time without polling. What other processes make due is found by the sweeper's
/// next look at the database, at most its ceiling later (or by their own sweepers).
/// </summary>
public sealed class SweepSchedule(TimeProvider time)
{
    private readonly Lock _lock = new();
    private DateTime _earliest = DateTime.MaxValue;
    private TaskCompletionSource _sooner = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Something became due at <paramref name="at"/>: a sleep planned past it ends then.</summary>
    public void Due(DateTime at)
    {
        lock (_lock)
        {
            if (at >= _earliest)
            {
                return;
            }

            _earliest = at;
            _sooner.TrySetResult();
        }
    }

    /// <summary>
    /// Forgets what was reported: called just before the database is read, which sees all of it (reports follow their
    /// commits). What is reported from here on is kept for the next sleep.
    /// </summary>
    public void Reset()
    {
        lock (_lock)
        {
            _earliest = DateTime.MaxValue;
        }
    }

    /// <summary>Sleeps until <paramref name="until"/>, or until an earlier time reported meanwhile or before.</summary>
    public async Task WaitAsync(DateTime until, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task sooner;
            DateTime wakeAt;
            lock (_lock)
            {
                if (_sooner.Task.IsCompleted)
                {
                    _sooner = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                sooner = _sooner.Task;
                wakeAt = _earliest < until ? _earliest : until;
            }

            var delay = wakeAt - time.GetUtcNow().UtcDateTime;
            if (delay <= TimeSpan.Zero)
            {
                return;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var elapsed = Task.Delay(delay, time, timeout.Token);
            var first = await Task.WhenAny(sooner, elapsed);
            await timeout.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            if (first == elapsed)
            {
                return;
            }
        }
    }
}
