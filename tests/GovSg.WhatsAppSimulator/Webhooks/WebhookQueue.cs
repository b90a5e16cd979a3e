namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>
/// Statuses waiting for their time, and POSTs waiting to be retried, each ordered by when they fall due. Statuses due
/// at the same time leave in the order they were scheduled, which <see cref="WebhookMode.Reorder"/> relies on.
/// </summary>
internal sealed class WebhookQueue
{
    private readonly Lock _lock = new();
    private readonly PriorityQueue<StatusEvent, (DateTimeOffset Due, long Sequence)> _statuses = new();
    private readonly PriorityQueue<WebhookDelivery, DateTimeOffset> _retries = new();
    private long _sequence;
    private TaskCompletionSource _filled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _statuses.Count + _retries.Count;
            }
        }
    }

    public void Schedule(StatusEvent status, DateTimeOffset due)
    {
        lock (_lock)
        {
            _statuses.Enqueue(status, (due, _sequence++));
            _filled.TrySetResult();
        }
    }

    public void ScheduleRetry(WebhookDelivery delivery, DateTimeOffset due)
    {
        lock (_lock)
        {
            _retries.Enqueue(delivery, due);
            _filled.TrySetResult();
        }
    }

    /// <summary>Completes once anything is queued (at once when something is), so an idle sender can sleep.</summary>
    public Task WhenNotEmpty()
    {
        lock (_lock)
        {
            if (_statuses.Count + _retries.Count > 0)
            {
                return Task.CompletedTask;
            }

            if (_filled.Task.IsCompleted)
            {
                _filled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return _filled.Task;
        }
    }

    /// <summary>Up to <paramref name="max"/> statuses due by <paramref name="now"/>, earliest first.</summary>
    public List<StatusEvent> TakeDueStatuses(DateTimeOffset now, int max)
    {
        var due = new List<StatusEvent>();
        lock (_lock)
        {
            while (due.Count < max && _statuses.TryPeek(out var status, out var key) && key.Due <= now)
            {
                _statuses.Dequeue();
                due.Add(status);
            }
        }

        return due;
    }

    public List<WebhookDelivery> TakeDueRetries(DateTimeOffset now)
    {
        var due = new List<WebhookDelivery>();
        lock (_lock)
        {
            while (_retries.TryPeek(out var delivery, out var at) && at <= now)
            {
                _retries.Dequeue();
                due.Add(delivery);
            }
        }

        return due;
    }
}
