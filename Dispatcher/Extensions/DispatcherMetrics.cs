using System.Diagnostics.Metrics;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Sweeping;

namespace GovSg.Dispatcher.Extensions;

/// <summary>The Dispatcher's own instruments (meter <c>GovSg.Dispatcher</c>).</summary>
public sealed class DispatcherMetrics : IDisposable
{
    public const string Name = "GovSg.Dispatcher";

    /// <summary>
    /// Bucket bounds for durations in seconds, from a fast provider call to an hour-long backlog: without them an
    /// exporter uses its default bounds (0, 5, 10, 25 ... 10,000), made for milliseconds, and every call falls in one.
    /// </summary>
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    };

    private readonly Meter _meter = new(Name);
    private readonly Histogram<double> _providerLatency;
    private readonly Counter<long> _providerCalls;
    private readonly Counter<long> _possibleDuplicates;
    private readonly Counter<long> _adopted;
    private readonly Counter<long> _held;
    private readonly Counter<long> _statusChanges;
    private readonly Counter<long> _claimSkipped;
    private readonly Histogram<double> _queueLag;
    private readonly Counter<long> _statusesApplied;
    private readonly Counter<long> _statusesParked;
    private readonly Counter<long> _statusesDropped;
    private readonly Counter<long> _republished;
    private readonly Counter<long> _callbackAttempts;
    private readonly Counter<long> _callbacksGivenUp;
    private readonly Counter<long> _callbackEndpointsPaused;

    private readonly SweepStore? _sweeps;
    private readonly TimeProvider _time;
    private static readonly TimeSpan BacklogWait = TimeSpan.FromSeconds(1);

    private readonly Lock _backlogLock = new();
    private (DateTime ReadAt, Backlogs Read)? _backlog;
    private Task<Backlogs>? _reading;
    private long _readingSince;

    /// <param name="sweeps">Reads the UNSENT backlog for its gauges; without it (tests) there are none.</param>
    /// <param name="gate">Tells whether the provider rejects our credentials, for its gauge; without it, none.</param>
    /// <param name="time">The clock the backlog's age is measured on.</param>
    public DispatcherMetrics(SweepStore? sweeps = null, ProviderGate? gate = null, TimeProvider? time = null)
    {
        _sweeps = sweeps;
        _time = time ?? TimeProvider.System;
        _providerLatency = _meter.CreateHistogram("govsg.provider.duration", "s", "Provider send call latency", advice: Seconds);
        _providerCalls = _meter.CreateCounter<long>("govsg.provider.calls", description: "Provider send calls by outcome and code");
        _possibleDuplicates = _meter.CreateCounter<long>("govsg.provider.possible_duplicate",
            description: "Messages sent again after a reconciliation hold that no status ended: the provider may have sent both");
        _adopted = _meter.CreateCounter<long>("govsg.provider.adopted",
            description: "Messages whose call had no recorded answer, accepted from a status that named the call");
        _held = _meter.CreateCounter<long>("govsg.provider.held",
            description: "Calls with an unknown outcome (timeouts, lapsed claims) held for reconciliation");
        _statusChanges = _meter.CreateCounter<long>("govsg.messages.status_changes", description: "Messages moved to a status by the send path");
        _claimSkipped = _meter.CreateCounter<long>("govsg.commands.skipped",
            description: "Commands for messages already claimed, finished, not yet due or expired");
        _queueLag = _meter.CreateHistogram("govsg.queue.lag", "s", "Time from acceptance to the first claim", advice: Seconds);
        _statusesApplied = _meter.CreateCounter<long>("govsg.statuses.applied", description: "Provider statuses applied");
        _statusesParked = _meter.CreateCounter<long>("govsg.statuses.parked",
            description: "Provider statuses for a provider id not recorded yet, parked for retry");
        _statusesDropped = _meter.CreateCounter<long>("govsg.statuses.dropped_unknown",
            description: "Parked provider statuses dropped after the retention period");
        _republished = _meter.CreateCounter<long>("govsg.commands.republished", description: "Send commands published by the sweeper");
        _callbackAttempts = _meter.CreateCounter<long>("govsg.callbacks.attempts",
            description: "Callback deliveries by outcome: delivered, retry (due again later), dropped (a 4xx, or past the retry " +
                         "budget), failed (not recorded)");
        _callbacksGivenUp = _meter.CreateCounter<long>("govsg.callbacks.given_up",
            description: "Status events deleted undelivered after the callback retry budget (24 h) with no attempt at its end");
        _callbackEndpointsPaused = _meter.CreateCounter<long>("govsg.callbacks.endpoints_paused",
            description: "Times a user's callback endpoint was paused after failing continuously");
        if (gate is not null)
        {
            // Paused sending makes no calls, so the call counters alone look like an idle system.
            _meter.CreateObservableGauge("govsg.provider.credentials_rejected", () => gate.CredentialsRejectedNow ? 1 : 0,
                description: "1 while the provider rejects our credentials and sending is paused (messages are kept), else 0");
            // Claims, retries and holds allow Retry__ClockTolerance (1 s) between Dispatchers' clocks: this shows the
            // skew before it costs anything.
            _meter.CreateObservableGauge("govsg.dispatcher.clock_offset", () => gate.DatabaseClockOffset.TotalSeconds, "s",
                "PostgreSQL's clock less this Dispatcher's, measured on the pace schedule's reads (0 before the first)");
        }

        if (sweeps is not null)
        {
            // Read only when metrics are collected (an exporter is configured), once for all four gauges.
            _meter.CreateObservableGauge("govsg.messages.unsent", () => Count(b => b.Unsent),
                description: "Messages stored and not yet accepted by the provider (UNSENT), of every Dispatcher");
            _meter.CreateObservableGauge("govsg.messages.unsent.oldest_age", () => Age(b => b.OldestUnsent), "s",
                "Age of the oldest UNSENT message: it grows when messages are stuck, whatever the sends per second");
            _meter.CreateObservableGauge("govsg.callbacks.pending", () => Count(b => b.Callbacks),
                description: $"Status events waiting for delivery to agencies' callback URLs, of every Dispatcher, counted up to {SweepStore.CallbacksCounted:N0}");
            _meter.CreateObservableGauge("govsg.callbacks.pending.oldest_age", () => Age(b => b.OldestCallback), "s",
                "Age of the oldest status event not yet delivered: how late callbacks are, or a paused endpoint's backlog");
        }
    }

    public void ProviderCall(TimeSpan duration, SendOutcome outcome)
    {
        var result = outcome.Accepted ? "accepted" : outcome.Kind.ToString().ToLowerInvariant();
        _providerLatency.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("outcome", result));
        _providerCalls.Add(1, new KeyValuePair<string, object?>("outcome", result),
            new KeyValuePair<string, object?>("code", outcome.Accepted ? null : outcome.ErrorCode));
    }

    public void PossibleDuplicate() => _possibleDuplicates.Add(1);

    public void Adopted(int count) => _adopted.Add(count);

    public void Held(int count = 1) => _held.Add(count);

    public void StatusChanged(string status, int count = 1) =>
        _statusChanges.Add(count, new KeyValuePair<string, object?>("status", status));

    public void ClaimsSkipped(int count) => _claimSkipped.Add(count);

    public void QueueLag(TimeSpan lag) => _queueLag.Record(lag.TotalSeconds);

    public void StatusesApplied(int applied, int parked)
    {
        _statusesApplied.Add(applied);
        _statusesParked.Add(parked);
    }

    public void UnknownStatusesDropped(int count) => _statusesDropped.Add(count);

    public void CommandsRepublished(int count) => _republished.Add(count);

    public void CallbackAttempt(string outcome) => _callbackAttempts.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void CallbacksGivenUp(int count) => _callbacksGivenUp.Add(count);

    public void CallbackEndpointPaused() => _callbackEndpointsPaused.Add(1);

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> Count(Func<Backlogs, long> count) =>
        Backlog() is { } backlog ? [new Measurement<long>(count(backlog))] : [];

    private IEnumerable<Measurement<double>> Age(Func<Backlogs, DateTime?> oldest) =>
        Backlog() is { } backlog && oldest(backlog) is { } time
            ? [new Measurement<double>((_time.GetUtcNow().UtcDateTime - time).TotalSeconds)]
            : [];

    /// <summary>
    /// The backlog, read at most once a second; none while the database cannot be read. A collection waits for a read
    /// at most <see cref="BacklogWait"/> from the read's start, all four gauges together: it runs on the thread that collects
    /// every instrument of the process, so a database that hangs (a partition, a fail-over) must not hold up the other
    /// metrics, which are needed most then. One read at a time: a hung one is not joined by more, and the collections
    /// after its wait ran out answer at once, without the backlog, until it ends.
    /// </summary>
    private Backlogs? Backlog()
    {
        lock (_backlogLock)
        {
            var now = _time.GetUtcNow().UtcDateTime;
            if (_backlog is { } cached && now - cached.ReadAt < TimeSpan.FromSeconds(1))
            {
                return cached.Read;
            }

            if (_reading is null)
            {
                _reading = _sweeps!.ReadBacklogAsync();
                _readingSince = Environment.TickCount64;
            }

            var left = _readingSince + (long)BacklogWait.TotalMilliseconds - Environment.TickCount64;
            if (!((IAsyncResult)_reading).AsyncWaitHandle.WaitOne(TimeSpan.FromMilliseconds(Math.Max(0, left))))
            {
                return null;
            }

            var reading = _reading;
            _reading = null;
            _ = reading.Exception; // a failed read is no backlog, and no unobserved exception either
            _backlog = reading.IsCompletedSuccessfully ? (now, reading.Result) : null;
            return _backlog?.Read;
        }
    }
}
