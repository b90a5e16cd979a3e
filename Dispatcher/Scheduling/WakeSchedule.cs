namespace GovSg.Dispatcher.Scheduling;

/// <summary>
/// How a background loop sleeps without polling: until the time it read as its next work, or sooner, when this process
/// makes something due earlier (<see cref="Due"/>) or due now (<see cref="Wake"/>). The loop calls <see cref="Reset"/>
/// just before it reads what is due, which sees everything reported until then (reports follow the changes they
/// announce); what is reported from then on, even before the sleep starts, ends that sleep in time.
/// </summary>
public class WakeSchedule(TimeProvider time)
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

    /// <summary>Something is due now: the sleep ends at once.</summary>
    public void Wake() => Due(DateTime.MinValue);

    /// <summary>Forgets what was reported: called just before the loop reads what is due, which sees all of it.</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _earliest = DateTime.MaxValue;
        }
    }

    /// <summary>
    /// Sleeps until <paramref name="until"/>, or until an earlier time reported since the last <see cref="Reset"/>;
    /// throws <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
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
