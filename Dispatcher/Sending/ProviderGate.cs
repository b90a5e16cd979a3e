using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Guards the provider: paces calls by the number's one schedule (<see cref="PaceSchedule"/>, shared by every
/// dispatcher through <see cref="PaceStore"/>), cuts the pace when the provider says it is exceeded, and pauses all
/// sending while the provider rejects our credentials — so a broken token does not burn agencies' messages — reporting
/// unhealthy until a call succeeds. The schedule runs on the database's clock (<see cref="ClockOffset"/>), so dispatchers
/// whose clocks differ still share its slots fairly: one whose clock ran ahead would otherwise reserve slots the others
/// see only as far in the future, and take the number from them.
/// </summary>
public sealed class ProviderGate(
    PaceStore store,
    IOptions<WhatsAppOptions> whatsApp,
    IOptions<RetryOptions> retry,
    TimeProvider time,
    ILogger<ProviderGate> logger) : IHealthCheck, IDisposable
{
    /// <summary>
    /// How old the schedule this dispatcher paces its calls by may be: another dispatcher's cut reaches its calls
    /// within this, without a round trip per call.
    /// </summary>
    public static readonly TimeSpan RefreshEvery = TimeSpan.FromMilliseconds(100);

    private readonly Lock _lock = new();
    private readonly PaceSchedule _schedule = new(whatsApp.Value.MessagesPerSecond);
    /// <summary>The most slots one reservation made for several batches takes: one batch's, as a single batch may.</summary>
    private const int MostSlotsMerged = 50;

    // Batches ask for slots one at a time, so only one of them waits on a full schedule and asks again; the batches that
    // queued up meanwhile are served together by the next one to get the turn.
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly List<Reservation> _queued = [];
    private readonly RetryOptions _retry = retry.Value;
    private readonly ClockOffset _offset = new();
    private PaceState? _seen;
    private DateTime _seenAt = DateTime.MinValue; // by this dispatcher's clock, unlike the schedule's times
    private Task<PaceState>? _refreshing;
    private DateTime _lastTurn = DateTime.MinValue;
    private readonly TaskCompletionSource _firstCallBack = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _firstCallMade;
    private DateTime _pausedUntil = DateTime.MinValue;
    private TimeSpan _pause = retry.Value.CredentialPause;
    private string? _credentialError;

    /// <summary>The pace calls are held to now, in calls per second, as this dispatcher last saw the schedule.</summary>
    public double CurrentRate
    {
        get
        {
            var now = Now();
            lock (_lock)
            {
                return _schedule.RateAt(_seen ?? _schedule.Start(now), now);
            }
        }
    }

    /// <summary>
    /// The database's clock less this dispatcher's, as last measured (zero before the first reading): the other
    /// dispatchers' offsets less this one tell how far their clocks are apart.
    /// </summary>
    public TimeSpan DatabaseClockOffset => _offset.Value;

    /// <summary>Whether the provider rejected our credentials on the last call that reached it (sending is paused).</summary>
    public bool CredentialsRejectedNow => Volatile.Read(ref _credentialError) is not null;

    /// <summary>When sending resumes, if it is paused now.</summary>
    public DateTime? PausedUntil(DateTime now)
    {
        lock (_lock)
        {
            return now < _pausedUntil ? _pausedUntil : null;
        }
    }

    /// <summary>
    /// Reserves <paramref name="count"/> call slots in the number's schedule, waiting while it is full beyond its
    /// horizon; null when the dispatcher began stopping first.
    /// </summary>
    public async Task<PaceGrant?> ReserveAsync(int count, CancellationToken stopping)
    {
        var mine = new Reservation(count);
        lock (_lock)
        {
            _queued.Add(mine);
        }

        try
        {
            await _turn.WaitAsync(stopping);
        }
        catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
        {
            // Served meanwhile or not, the caller stops (or came so late that the host has disposed the gate: stopping
            // too): slots it was granted pass unused.
            lock (_lock)
            {
                _queued.Remove(mine);
            }

            return null;
        }

        try
        {
            if (!mine.Grant.Task.IsCompleted)
            {
                await ReserveQueuedAsync(mine, stopping);
            }

            return await mine.Grant.Task;
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// Makes one reservation for <paramref name="mine"/> and the reservations queued behind it, up to
    /// <see cref="MostSlotsMerged"/> slots, and hands each its part: under load many small batches (single sends' commands
    /// published together) would otherwise each wait a database round trip for the turn.
    /// </summary>
    private async Task ReserveQueuedAsync(Reservation mine, CancellationToken stopping)
    {
        List<Reservation> served = [mine];
        var count = mine.Count;
        lock (_lock)
        {
            _queued.Remove(mine);
            while (_queued.Count > 0 && count + _queued[0].Count <= MostSlotsMerged)
            {
                count += _queued[0].Count;
                served.Add(_queued[0]);
                _queued.RemoveAt(0);
            }
        }

        try
        {
            if (!_offset.IsKnown(LocalNow()))
            {
                // Idle for long, or never sent: slots are reserved by the database's clock, never by this one's, so
                // the reservation fails with the read rather than go ahead without it.
                await ReadAsync();
            }

            while (true)
            {
                var now = Now();
                var take = await ChangeAsync(now, state =>
                {
                    var take = _schedule.Take(state, count, now);
                    return (take.State, take);
                }, CancellationToken.None);
                if (take.Grant is not null)
                {
                    foreach (var (reservation, part) in served.Zip(take.Grant.Split([.. served.Select(r => r.Count)])))
                    {
                        reservation.Grant.TrySetResult(part);
                    }

                    return;
                }

                await Task.Delay(take.RetryAt - now, time, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            served.ForEach(r => r.Grant.TrySetResult(null));
        }
        catch (Exception exception)
        {
            served.ForEach(r => r.Grant.TrySetException(exception));
        }
    }

    /// <summary>
    /// Waits until the call with <paramref name="slot"/> may be made and says when that was and which cut paced it; null
    /// when the dispatcher began stopping first. The slot comes at the number's latest pace (a cut another dispatcher met
    /// on the way moves it later), then the call takes its place among this dispatcher's calls (<see cref="SpacedAsync"/>);
    /// if the pace is cut meanwhile, the place it was given at the old pace is no longer valid and it takes a new one.
    /// </summary>
    public async Task<PaceTurn?> TurnAsync(DateTime slot, CancellationToken stopping)
    {
        if (await SlotComesAsync(slot, stopping) is not { } comes)
        {
            return null;
        }

        try
        {
            var at = await SpacedAsync(comes.At, CurrentInterval);
            while (true)
            {
                // The clock is read once: another thread's read of the database's clock may move it meanwhile.
                if (at - Now() is var wait && wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, stopping);
                }

                var pacedSince = Seen.ThrottledAt;
                if (pacedSince <= comes.PacedSince)
                {
                    return comes with { At = Now() };
                }

                comes = new PaceTurn(Now(), pacedSince);
                at = TurnFor(comes.At, CurrentInterval);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Waits until <paramref name="slot"/> comes at the number's latest pace; null when stopping first.</summary>
    private async Task<PaceTurn?> SlotComesAsync(DateTime slot, CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                var state = await SeenAsync();
                var now = Now();
                var comes = _schedule.TimeOf(state, slot);
                if (comes <= now)
                {
                    return new PaceTurn(now, state.ThrottledAt);
                }

                // Waits no longer than the schedule stays fresh, so a cut met meanwhile holds the call back.
                var wait = comes - now;
                await Task.Delay(wait < RefreshEvery ? wait : RefreshEvery, time, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The schedule's interval between calls at its pace now, in real time.</summary>
    public TimeSpan CurrentInterval => TimeSpan.FromTicks((long)(TimeSpan.TicksPerSecond / CurrentRate));

    /// <summary>
    /// The latest a call in <paramref name="grant"/> can come, however the pace is cut meanwhile, by this dispatcher's
    /// clock (what a claim's lease is written in).
    /// </summary>
    public DateTime LatestCall(PaceGrant grant)
    {
        var now = Now();
        lock (_lock)
        {
            return _schedule.LatestCall(_seen ?? _schedule.Start(now), grant, now) - _offset.Value;
        }
    }

    /// <summary>Where the schedule's axis stands now: slots from here on have not come yet.</summary>
    public DateTime CurrentSlot
    {
        get
        {
            var now = Now();
            lock (_lock)
            {
                return _schedule.SlotAt(_seen ?? _schedule.Start(now), now);
            }
        }
    }

    /// <summary>
    /// When a call whose slot has come may be made: this dispatcher's calls keep the schedule's spacing in real time, so
    /// one held up (CPU, GC, a slow claim) catches up at the pace rather than making all its passed calls at once. The
    /// dispatcher's first call goes alone: the calls behind its one-time set-up (connections, code compiled on first
    /// use) would otherwise leave together once it is done.
    /// </summary>
    public async Task<DateTime> SpacedAsync(DateTime slot, TimeSpan interval)
    {
        if (Interlocked.Exchange(ref _firstCallMade, 1) == 1)
        {
            await _firstCallBack.Task;
        }

        return TurnFor(slot, interval);
    }

    /// <summary>A call came back, whatever its outcome: the calls waiting behind the first may go.</summary>
    public void CallReturned() => _firstCallBack.TrySetResult();

    private DateTime TurnFor(DateTime slot, TimeSpan interval)
    {
        var now = Now();
        lock (_lock)
        {
            _lastTurn = new[] { slot, now, _lastTurn + interval }.Max();
            return _lastTurn;
        }
    }

    /// <summary>Gives back the slots of <paramref name="grant"/> from <paramref name="from"/> on: no call will use them.</summary>
    public async Task ReleaseAsync(PaceGrant grant, DateTime from)
    {
        var now = Now();
        if (from >= grant.End || grant.End <= CurrentSlot)
        {
            return;
        }

        try
        {
            await ChangeAsync(now, state => (_schedule.Release(state, grant, from, now), true), CancellationToken.None);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // Slots not given back pass unused: the number is only slowed down, never overrun.
            logger.LogWarning(exception, "Could not give back unused call slots; they pass unused");
        }
    }

    /// <summary>The provider answered 130429 to a call made at <paramref name="turn"/>: the number is overrun.</summary>
    public async Task ThroughputExceededAsync(PaceTurn turn)
    {
        var now = Now();
        lock (_lock)
        {
            // Most rejections of one overload come from calls paced before its cut: those need no round trip.
            if (_seen is not null && _schedule.Throttled(_seen, turn, now) == _seen)
            {
                return;
            }
        }

        try
        {
            await ChangeAsync(now, state => (_schedule.Throttled(state, turn, now), true), CancellationToken.None);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // The provider keeps saying so while the number is overrun; a later rejection cuts the pace instead.
            logger.LogWarning(exception, "Could not cut the number's pace after a 130429");
        }
    }

    /// <summary>
    /// Pauses sending. <paramref name="error"/> is the recorded <c>"&lt;code&gt;: &lt;provider text&gt;"</c>; only its
    /// redacted form is kept, because it reaches <c>/health/ready</c> and Meta's texts can carry a number or params.
    /// </summary>
    public void CredentialsRejected(DateTime now, string error)
    {
        lock (_lock)
        {
            _credentialError = ProviderErrors.Redact(error);
            // Calls already in flight when the pause began must not stretch it again.
            if (now >= _pausedUntil)
            {
                _pausedUntil = now + _pause;
                _pause = TimeSpan.FromTicks(Math.Min(_pause.Ticks * 2, _retry.MaxCredentialPause.Ticks));
            }
        }
    }

    public void ProviderAccepted()
    {
        if (Volatile.Read(ref _credentialError) is null)
        {
            return;
        }

        lock (_lock)
        {
            _credentialError = null;
            _pause = _retry.CredentialPause;
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var error = Volatile.Read(ref _credentialError);
        return Task.FromResult(error is null
            ? HealthCheckResult.Healthy()
            : new HealthCheckResult(context.Registration.FailureStatus,
                $"The provider rejects our credentials ({error}); sending is paused and messages are kept"));
    }

    /// <summary>
    /// Changes the schedule from the state last seen, in one round trip unless another dispatcher changed it since; the
    /// state stored after the change is the one seen from now on.
    /// </summary>
    private async Task<T> ChangeAsync<T>(DateTime now, Func<PaceState, (PaceState State, T Result)> change,
        CancellationToken cancellationToken)
    {
        PaceState? seen;
        lock (_lock)
        {
            seen = _seen;
        }

        var (stored, result) = await store.ChangeAsync(seen, _schedule.Start(now), change, cancellationToken);
        Saw(stored);
        return result;
    }

    private PaceState Seen
    {
        get
        {
            lock (_lock)
            {
                return _seen ?? _schedule.Start(Now());
            }
        }
    }

    /// <summary>
    /// The schedule last seen; when that is older than <see cref="RefreshEvery"/>, it is read again (once for all
    /// callers) in the background: calls never wait on the database, only the first ever waits for a schedule at all.
    /// </summary>
    private Task<PaceState> SeenAsync()
    {
        var now = LocalNow();
        lock (_lock)
        {
            if (now - _seenAt >= RefreshEvery && (_refreshing is null || _refreshing.IsCompleted))
            {
                _refreshing = RefreshAsync();
            }

            return _seen is null ? _refreshing! : Task.FromResult(_seen);
        }
    }

    /// <summary>Reads the schedule and the database's clock.</summary>
    private async Task ReadAsync()
    {
        var reading = await store.ReadAsync(CancellationToken.None);
        lock (_lock)
        {
            _offset.Observe(reading.Clock);
        }

        Saw(reading.State ?? _schedule.Start(Now()));
    }

    private async Task<PaceState> RefreshAsync()
    {
        try
        {
            await ReadAsync();
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // Calls keep the pace last seen; the next call asks again once that is stale.
            logger.LogWarning(exception, "Could not read the number's pace; calls keep the pace last seen");
            Saw(null);
        }

        lock (_lock)
        {
            return _seen ?? _schedule.Start(Now());
        }
    }

    private void Saw(PaceState? state)
    {
        var now = Now();
        lock (_lock)
        {
            if (state is not null && _seen is not null && state.ThrottledAt > _seen.ThrottledAt)
            {
                // A new cut: the places given at the old pace are taken again at the new one, from now on.
                _lastTurn = now;
            }

            _seen = state ?? _seen;
            _seenAt = LocalNow();
        }
    }

    /// <summary>The schedule's time: the database's clock, as this dispatcher last measured it.</summary>
    private DateTime Now() => LocalNow() + _offset.Value;

    private DateTime LocalNow() => time.GetUtcNow().UtcDateTime;

    public void Dispose() => _turn.Dispose();

    /// <summary>A batch's request for <see cref="Count"/> slots, and the grant it gets (null when stopping first).</summary>
    private sealed record Reservation(int Count)
    {
        public TaskCompletionSource<PaceGrant?> Grant { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
