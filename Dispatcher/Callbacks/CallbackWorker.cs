using System.Collections.Concurrent;
using GovSg.Callbacks;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Scheduling;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Callbacks;

/// <summary>
/// Delivers status events to callback URLs (SPEC §11.1), apart from the send and status paths: those only insert
/// events, and this worker has its own connections, HTTP client and in-flight limits. It sleeps until something is due:
/// a NOTIFY from an event insert (LISTEN callback_events), the next retry or endpoint pause ending, or a delivery of a
/// user at their cap finishing; it never polls on a short timer. New events, and deliveries that succeeded, wait up to
/// <see cref="Gather"/> for the round that takes them: it claims the new together, and has the delivered recorded in one
/// statement, rather than a round of statements, and a commit, for each event.
/// </summary>
public sealed class CallbackWorker(
    CallbackStore store,
    CallbackClient client,
    CallbackRetryPolicy policy,
    NpgsqlDataSource dataSource,
    IOptions<CallbackOptions> options,
    TimeProvider time,
    DispatcherMetrics metrics,
    ILogger<CallbackWorker> logger) : BackgroundService
{
    /// <summary>A safety net only: a notification cannot be lost while the listener is connected, and it wakes on reconnect.</summary>
    private static readonly TimeSpan IdleWake = TimeSpan.FromMinutes(5);

    /// <summary>How often events past the retry budget are looked for (at most; sooner for a shorter budget).</summary>
    private static readonly TimeSpan GiveUpEvery = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long new events and successes wait for their round at most (a failure, and a finishing delivery that frees a
    /// user at its cap or this Dispatcher at its total, wake it at once). At 70 messages a second (280 events), a
    /// Dispatcher made 30–55 rounds a second and committed each delivery on its own (about 300 commits); with this, about
    /// 25 rounds, and 21 commits for the deliveries.
    /// </summary>
    internal static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(50);

    private const int GiveUpBatch = 10_000;

    private const int DiscardBatch = 10_000;

    private const int DeliveredBatch = 1_000;

    private readonly CallbackOptions _options = options.Value;
    private readonly ConcurrentDictionary<long, int> _inFlight = new();
    private readonly ConcurrentDictionary<Task, bool> _deliveries = new();
    private readonly ConcurrentQueue<(ClaimedEvent Event, DateTime SucceededAt)> _delivered = new();
    private readonly WakeSchedule _wake = new(time);

    // The record of deliveries under way, apart from the rounds: it may wait on a user's rows (a URL change holds them
    // until it commits), and claims for every other user must not wait with it.
    private Task _recording = Task.CompletedTask;

    private int _total;
    private DateTime _nextGiveUp;

    // Set by a discard's notification (and at start, and when the listener connects: one may have been missed).
    private volatile bool _discardDue = true;

    // The user whose discarded events this worker deleted last, and the last id it deleted: the next batch starts there.
    private (long UserId, long Last) _discarded;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = ListenAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _wake.Reset();
                if (_recording.IsCompleted && !_delivered.IsEmpty)
                {
                    _recording = RecordDeliveredAsync();
                }

                if (time.GetUtcNow().UtcDateTime >= _nextGiveUp)
                {
                    await GiveUpAsync(stoppingToken);
                }

                if (_discardDue)
                {
                    await DeleteDiscardedAsync(stoppingToken);
                }

                if (Volatile.Read(ref _total) >= _options.MaxInFlight)
                {
                    // Full: only a finishing delivery (which wakes this loop) makes room.
                    await SleepAsync(null, stoppingToken);
                    continue;
                }

                if (await ClaimAndStartAsync(stoppingToken))
                {
                    continue;
                }

                var due = await store.NextDueAsync(InFlight(), time.GetUtcNow().UtcDateTime - _options.Budget,
                    _options.MaxInFlightPerUser, _options.EndpointFailureThreshold, stoppingToken);
                await SleepAsync(due < _nextGiveUp ? due : _nextGiveUp, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                // A database outage is expected and retried quietly. Anything else is a bug, logged as one, and retried
                // too: letting it out would stop the host, and sending with it.
                logger.Log(exception is NpgsqlException or TimeoutException ? LogLevel.Warning : LogLevel.Error, exception,
                    "Claiming status events for callbacks failed; retrying");
                // Stopped during the back-off: leave the loop as above, so the listener and deliveries are awaited.
                await SleepAsync(time.GetUtcNow().UtcDateTime.AddSeconds(1), stoppingToken)
                    .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        await listener;
        await RecordTheLastDeliveriesAsync();
    }

    /// <summary>
    /// Records the deliveries that succeed while the ones under way finish, a round's worth at a time, and then the rest:
    /// a success left unrecorded is delivered again once its lease ends.
    /// </summary>
    private async Task RecordTheLastDeliveriesAsync()
    {
        await _recording;
        var delivering = Task.WhenAll(_deliveries.Keys);
        while (true)
        {
            var finished = delivering.IsCompleted;
            while (!_delivered.IsEmpty)
            {
                if (!await RecordBatchAsync())
                {
                    return;
                }
            }

            if (finished)
            {
                return;
            }

            await Task.WhenAny(delivering, Task.Delay(Gather, time));
        }
    }

    /// <summary>
    /// Records a batch of the deliveries that succeeded (after a failure, waits a second), and wakes the rounds when more
    /// wait: the next round starts the next batch.
    /// </summary>
    private async Task RecordDeliveredAsync()
    {
        await Task.Yield();
        if (!await RecordBatchAsync())
        {
            await Task.Delay(TimeSpan.FromSeconds(1), time);
        }

        if (!_delivered.IsEmpty)
        {
            _wake.Wake();
        }
    }

    /// <summary>
    /// Records up to <see cref="DeliveredBatch"/> deliveries that succeeded, in one statement; false when that failed, and
    /// they wait for the next. Until then each event's lease keeps it from being claimed again (unless a new URL made it
    /// due at once, SPEC §11.1's redelivery to the new URL); once the lease ends, it is delivered again (at least once).
    /// </summary>
    private async Task<bool> RecordBatchAsync()
    {
        var batch = new List<(ClaimedEvent, DateTime)>();
        while (batch.Count < DeliveredBatch && _delivered.TryDequeue(out var delivered))
        {
            batch.Add(delivered);
        }

        if (batch.Count == 0)
        {
            return true;
        }

        try
        {
            await store.DeliveredAsync(batch, CancellationToken.None);
            return true;
        }
        catch (Exception exception)
        {
            foreach (var delivered in batch)
            {
                _delivered.Enqueue(delivered);
            }

            logger.Log(exception is NpgsqlException or TimeoutException ? LogLevel.Warning : LogLevel.Error, exception,
                "Recording {Count} delivered status event(s) failed; retrying", batch.Count);
            return false;
        }
    }

    /// <summary>Claims what this Dispatcher may take on and starts delivering it; true when it may find more at once.</summary>
    private async Task<bool> ClaimAndStartAsync(CancellationToken stoppingToken)
    {
        var room = _options.MaxInFlight - Volatile.Read(ref _total);
        var now = time.GetUtcNow().UtcDateTime;
        var claimed = await store.ClaimAsync(InFlight(), now, now - _options.Budget, now + _options.Lease,
            _options.MaxInFlightPerUser, _options.EndpointFailureThreshold, room, stoppingToken);
        if (claimed.Count == 0)
        {
            return false;
        }

        var secrets = await store.SecretsAsync(claimed.Select(c => c.UserId), now, stoppingToken);
        foreach (var item in claimed)
        {
            _inFlight.AddOrUpdate(item.UserId, 1, (_, n) => n + 1);
            Interlocked.Increment(ref _total);
            var delivery = DeliverAsync(item, secrets[item.UserId].ToList());
            _deliveries.TryAdd(delivery, true);
            _ = delivery.ContinueWith(t => _deliveries.TryRemove(t, out _), TaskScheduler.Default);
        }

        return claimed.Count == room;
    }

    /// <summary>
    /// Deletes the events past the retry budget (SPEC §11.1), those of a paused endpoint too, which no attempt would
    /// reach until the pause ends: they are neither kept without bound nor delivered days late.
    /// </summary>
    private async Task GiveUpAsync(CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var given = await store.GiveUpAsync(now - _options.Budget, _options.BudgetText, GiveUpBatch, now, stoppingToken);
        if (given > 0)
        {
            metrics.CallbacksGivenUp(given);
            logger.LogWarning("Gave up {Count} status event(s) not delivered within {Budget}", given, _options.BudgetText);
        }

        _nextGiveUp = given == GiveUpBatch ? now : now + (_options.Budget < GiveUpEvery ? _options.Budget : GiveUpEvery);
    }

    /// <summary>
    /// Deletes one batch of the events a change of settings discarded, and comes back for more at once while there are
    /// any: discarded events are neither delivered nor counted, but until they are gone, the claims read past them.
    /// </summary>
    private async Task DeleteDiscardedAsync(CancellationToken stoppingToken)
    {
        _discardDue = false;
        (long UserId, long Last)? round;
        try
        {
            round = await store.DeleteDiscardedAsync(_discarded, DiscardBatch, stoppingToken);
        }
        catch
        {
            _discardDue = true;
            throw;
        }

        if (round is { } deleted)
        {
            _discarded = deleted.Last > 0 ? deleted : _discarded;
            _discardDue = true;
            _wake.Wake();
        }
    }

    /// <summary>
    /// Posts the event and records the outcome. Not stopped by a shutdown: a POST under way finishes within its timeout
    /// (SPEC §8, in-flight work finishes), which the shutdown awaits, rather than being cut off after the receiver may
    /// have acted on it and left to its lease, to be delivered again half a minute later.
    /// </summary>
    private async Task DeliverAsync(ClaimedEvent claimed, IReadOnlyList<string> secrets)
    {
        await Task.Yield();
        var delivered = false;
        try
        {
            var attemptedAt = time.GetUtcNow().UtcDateTime;
            var result = await client.PostAsync(claimed, secrets, CancellationToken.None);
            delivered = await RecordAsync(claimed, attemptedAt, policy.Decide(result, claimed.Attempts + 1, claimed.CreatedAt));
        }
        catch (Exception exception)
        {
            // Not awaited by anyone: an error left in the task would be lost, and the event would come back silently.
            metrics.CallbackAttempt("failed");
            logger.Log(exception is NpgsqlException or TimeoutException ? LogLevel.Warning : LogLevel.Error, exception,
                "Delivering status event {EventId} or recording its outcome failed; its lease will make it due again",
                claimed.Id);
        }
        finally
        {
            var userWasFull = _inFlight.AddOrUpdate(claimed.UserId, 0, (_, n) => n - 1) + 1 >= _options.MaxInFlightPerUser;
            _inFlight.TryRemove(new KeyValuePair<long, int>(claimed.UserId, 0));
            var allWereFull = Interlocked.Decrement(ref _total) + 1 >= _options.MaxInFlight;
            if (delivered && !userWasFull && !allWereFull)
            {
                _wake.Due(time.GetUtcNow().UtcDateTime + Gather);
            }
            else
            {
                _wake.Wake();
            }
        }
    }

    /// <summary>Records the attempt's outcome; true when it was delivered (queued, to be recorded with others).</summary>
    private async Task<bool> RecordAsync(ClaimedEvent claimed, DateTime attemptedAt, DeliveryDecision decision)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var failures = decision switch
        {
            DeliveryDecision.Delivered => 0,
            DeliveryDecision.RetryAt retry => await store.RetryAsync(claimed, attemptedAt, retry.At, retry.Reason, now,
                CancellationToken.None),
            DeliveryDecision.Drop drop => await store.DropAsync(claimed, attemptedAt, drop.Reason, drop.EndpointFailed, now,
                CancellationToken.None),
            _ => throw new InvalidOperationException($"Unknown decision {decision}"),
        };
        if (decision is DeliveryDecision.Delivered)
        {
            _delivered.Enqueue((claimed, now));
        }
        else if (policy.EndpointPausedUntil(failures) is { } until)
        {
            // Deliveries that fail together each pause it; the log says the pause that stands. None when the run ended
            // (or the URL changed) meanwhile.
            if (await store.PauseAsync(claimed, failures, until, CancellationToken.None) is { } paused)
            {
                metrics.CallbackEndpointPaused();
                logger.LogWarning("Callback endpoint of user {UserId} failed {Failures} times in a row; paused until {Until:O}",
                    claimed.UserId, failures, paused);
            }
        }

        metrics.CallbackAttempt(decision switch
        {
            DeliveryDecision.Delivered => "delivered",
            DeliveryDecision.RetryAt => "retry",
            _ => "dropped",
        });
        return decision is DeliveryDecision.Delivered;
    }

    private Dictionary<long, int> InFlight() => _inFlight.Where(p => p.Value > 0).ToDictionary();

    private Task SleepAsync(DateTime? until, CancellationToken stoppingToken)
    {
        var ceiling = time.GetUtcNow().UtcDateTime + IdleWake;
        return _wake.WaitAsync(until < ceiling ? until.Value : ceiling, stoppingToken);
    }

    /// <summary>Holds one connection on LISTEN callback_events and turns each notification into a wake-up.</summary>
    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, notification) =>
                {
                    if (notification.Channel == StatusEventSql.DiscardChannel)
                    {
                        _discardDue = true;
                        _wake.Wake();
                    }
                    else
                    {
                        _wake.Due(time.GetUtcNow().UtcDateTime + Gather);
                    }
                };
                await using (var listen = new NpgsqlCommand(
                    $"LISTEN {StatusEventSql.WakeChannel}; LISTEN {StatusEventSql.DiscardChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Events recorded, and discards made, while nobody listened are found by the next round.
                _discardDue = true;
                _wake.Wake();
                try
                {
                    while (true)
                    {
                        await connection.WaitAsync(stoppingToken);
                    }
                }
                finally
                {
                    // The pool does not reset connections (NoResetOnClose), so the LISTEN must not outlive this use.
                    if (connection.State == System.Data.ConnectionState.Open)
                    {
                        await using var unlisten = new NpgsqlCommand("UNLISTEN *", connection);
                        await unlisten.ExecuteNonQueryAsync(CancellationToken.None);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException or IOException)
            {
                logger.LogWarning("Listening for status events failed ({Error}); reconnecting", exception.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, CancellationToken.None);
            }
        }
    }
}
