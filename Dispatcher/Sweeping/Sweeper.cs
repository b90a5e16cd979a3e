using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sending;
using GovSg.Dispatcher.Statuses;
using GovSg.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sweeping;

/// <summary>
/// The safety net that makes "nothing accepted is ever lost" hold (SPEC §5, §8). On every dispatcher (rows are taken
/// with SKIP LOCKED, so replicas share the work): re-apply parked provider statuses; hold claims whose dispatcher died
/// during the call for reconciliation; publish the commands of messages that are due — retries whose time came, holds
/// that nothing adopted, and messages whose command was lost (the Api's, or one a sweep published) — and expire
/// messages past their validity. It sweeps only when something is due: between sweeps it sleeps until the
/// earliest due time in the database, or one this process reports (<see cref="SweepSchedule"/>), looking again at
/// least every <see cref="SweepOptions.MaxInterval"/>, and while work stays due it sweeps every
/// <see cref="SweepOptions.Interval"/>.
/// </summary>
public sealed class Sweeper(
    SweepStore store,
    SweepSchedule schedule,
    StatusApplier statuses,
    SendQueueProbe queue,
    ProviderGate gate,
    IBusControl bus,
    IOptions<SweepOptions> options,
    IOptions<WhatsAppOptions> whatsApp,
    IOptions<RetryOptions> retry,
    DispatcherMetrics metrics,
    TimeProvider time,
    ILogger<Sweeper> logger) : BackgroundService
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(10);

    private readonly SweepOptions _options = options.Value;
    private readonly int _prefetch = SendMessageConsumerDefinition.PrefetchCount(whatsApp.Value);
    private readonly double _configuredRate = whatsApp.Value.MessagesPerSecond;
    private readonly TimeSpan _reconcileHold = retry.Value.ReconcileHold;

    // Earlier sweeps' readings of the time the dispatchers need for every command then in flight (UnclaimedLostByAsync).
    private readonly Queue<(DateTime At, TimeSpan Drain)> _drainReadings = new();

    // A message is due its pick-up deadline after it is stored, a lapsed claim its lease after the claim: looking at
    // least that often finds either before it falls due, wherever it was written.
    private readonly TimeSpan _maxSleep = new[] { options.Value.MaxInterval, options.Value.PickUpDeadline, retry.Value.ClaimLease }.Min();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                schedule.Reset();
                var now = time.GetUtcNow().UtcDateTime;
                var due = await store.NextDueAsync(now, stoppingToken);
                if (due > now || due is null)
                {
                    var ceiling = now + _maxSleep;
                    await schedule.WaitAsync(due < ceiling ? due.Value : ceiling, stoppingToken);
                    continue;
                }

                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException or MassTransitException)
            {
                // The message is enough: an outage repeats this every interval, and a stack trace a time is only noise.
                logger.LogWarning("Sweep failed ({Error}); trying again in {Interval}", exception.Message, _options.Interval);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // Anything else is a bug or a failure no one foresaw. The sweep is the safety net of every message, so it
                // must not end with it (an unhandled exception would stop the whole Dispatcher, on every replica at once).
                logger.LogError(exception, "Sweep failed; trying again in {Interval}", _options.Interval);
            }

            await Task.Delay(_options.Interval, time, stoppingToken);
        }
    }

    private async Task SweepOnceAsync(CancellationToken cancellationToken)
    {
        int retried;
        do
        {
            retried = await statuses.RetryPendingAsync(cancellationToken);
        }
        while (retried > 0);

        var now = time.GetUtcNow().UtcDateTime;
        // Before anything is expired or re-published: a lapsed call is reconciled, not sent again.
        var held = await store.HoldLapsedClaimsAsync(now, now + _reconcileHold, _options.BatchSize, cancellationToken);
        if (held > 0)
        {
            logger.LogWarning("{Count} claim(s) lapsed with their call's outcome unrecorded; holding them for reconciliation", held);
            metrics.Held(held);
        }

        var expired = await store.ExpireAsync(now, _options.BatchSize, cancellationToken);
        if (expired > 0)
        {
            logger.LogWarning("{Count} message(s) expired before the provider accepted them", expired);
            metrics.StatusChanged(MessageStatus.Error, expired);
        }

        // Publishing while the bus is down would be lost; the messages stay due and are taken next time.
        if (bus.CheckHealth().Status != BusHealthStatus.Healthy)
        {
            return;
        }

        var (republishedLostBy, unclaimedLostBy) = await LostByAsync(now, cancellationToken);
        var nextSweep = now + _options.PickUpDeadline;
        var due = await store.TakeDueAsync(now, nextSweep, republishedLostBy, unclaimedLostBy, _options.BatchSize,
            cancellationToken);
        if (due.Count == 0)
        {
            return;
        }

        await RepublishAsync(due, nextSweep, cancellationToken);
    }

    /// <summary>
    /// When commands in flight are presumed lost: a sweep's own (re-published) ones, and the never-claimed messages'
    /// (null when not judged now).
    /// </summary>
    private async Task<(DateTime? Republished, DateTime? Unclaimed)> LostByAsync(DateTime now, CancellationToken cancellationToken)
    {
        // A command in flight is presumed lost once its pick-up deadline is overdue. While the queue has no backlog, by the
        // time the dispatchers may need for the messages queued and those they can have fetched, at most one more
        // deadline, so a lost command is found within two; sooner when an earlier sweep's reading says the commands in
        // flight then have all been taken since (UnclaimedLostBy). Behind a backlog, only a command a sweep published,
        // and only once this process has claimed a message stored a deadline after it went out: the queue is first in,
        // first out, so it has moved past that command. The Api's own commands are not judged that way, because the Api
        // may publish them long after their messages were stored (held through a broker outage that the database was away
        // for too, then drained behind newer ones); a backlog must never have them all re-published. The commands it
        // handed to the sweep are none of these: no command is in flight for them (SweepStore). Until the depth can be
        // read, a sweep's command is presumed lost a deadline after it went out, as it always was.
        var depth = await queue.DepthAsync(cancellationToken);
        DateTime? unclaimedLostBy = depth is { } d && d.ReadyMessages <= _options.BacklogThreshold
            ? await UnclaimedLostByAsync(now, d, cancellationToken)
            : null;

        var republishedLostBy = unclaimedLostBy ?? (depth is null ? now
            : schedule.ClaimedUpTo is { } claimedUpTo ? (claimedUpTo < now ? claimedUpTo : now) : null);
        return (republishedLostBy, unclaimedLostBy);
    }

    /// <summary>
    /// Publishes the due messages' commands. A command that does not go out makes its messages due again at once, not a
    /// pick-up deadline later.
    /// </summary>
    private async Task RepublishAsync(IReadOnlyList<(long Id, bool Test)> due, DateTime nextSweep,
        CancellationToken cancellationToken)
    {
        // The wait is bounded, so a broker that blocks publishers does not hold up the sweep's other steps (parked
        // statuses, lapsed claims, expiry) with it. Test keys' messages go in commands of their own, which take no slot of
        // the number's pace.
        var commands = due.GroupBy(m => m.Test)
            .SelectMany(kind => kind.Select(m => m.Id).Chunk(SendMessages.MaxIds).Select(ids => new SendMessages(ids, Test: kind.Key)));
        var unpublished = (await Task.WhenAll(commands.Select(async command =>
        {
            var ids = command.MessageIds;
            try
            {
                await bus.PublishWithinAsync(command, PublishTimeout, cancellationToken);
                return [];
            }
            catch (Exception exception)
            {
                // Stopping included: what was taken and not published is due again at once, not a deadline later (behind
                // a backlog, a never-claimed message's deadline is not judged at all).
                if (!cancellationToken.IsCancellationRequested)
                {
                    logger.LogWarning("Publishing {Count} due send command(s) failed ({Error})", ids.Length, exception.Message);
                }

                return ids;
            }
        }))).SelectMany(ids => ids).ToList();
        if (unpublished.Count > 0)
        {
            await store.MakeDueAsync(unpublished, nextSweep, CancellationToken.None);
        }

        var published = due.Count - unpublished.Count;
        if (published > 0)
        {
            metrics.CommandsRepublished(published);
            logger.LogInformation("Published the send commands of {Count} due message(s)", published);
        }
    }

    /// <summary>
    /// The latest pick-up deadline past which a never-claimed message's command is presumed lost. Every command in flight
    /// is fetched and taken within the time the dispatchers need for the messages it can carry: those queued and those
    /// they can have fetched, and never more than are UNSENT. A reading of that time at an earlier sweep that has since
    /// run out shows every command in flight then taken; with few messages UNSENT (a few lost commands, an idle queue)
    /// that comes soon after, so a lost command is found about its deadline. At the latest, it is found a deadline
    /// after it.
    /// </summary>
    private async Task<DateTime> UnclaimedLostByAsync(DateTime now, QueueDepth depth, CancellationToken cancellationToken)
    {
        // The pace calls are held to now: a cut (the provider's 130429) makes the same messages take longer.
        var rate = Math.Min(_configuredRate, gate.CurrentRate);
        var mayHold = Math.Ceiling((depth.Ready + (double)depth.Consumers * _prefetch) * depth.IdsPerCommand);
        // Counted no further than a deadline's worth at the rate: more cannot lengthen the drain (Drain), and a read of a
        // large backlog costs the sweep its time.
        var unsent = await store.CountUnsentAsync(
            (long)Math.Min(mayHold, Math.Ceiling(_options.PickUpDeadline.TotalSeconds * Math.Max(rate, 0))), cancellationToken);
        var lostBy = now - Drain(mayHold, rate);
        // Stamped once the queue and the count are read, which may be seconds after the sweep began. While sending is
        // paused (rejected credentials) nothing is taken at any pace, so no reading holds, earlier ones included.
        var readAt = time.GetUtcNow().UtcDateTime;
        if (gate.PausedUntil(readAt) is null)
        {
            _drainReadings.Enqueue((readAt, Drain(unsent, rate)));
        }
        else
        {
            _drainReadings.Clear();
        }

        while (_drainReadings.TryPeek(out var oldest) && oldest.At < now - _options.PickUpDeadline)
        {
            _drainReadings.Dequeue();
        }

        foreach (var (at, drain) in _drainReadings)
        {
            if (at + drain <= now && at > lostBy)
            {
                lostBy = at;
            }
        }

        return lostBy;
    }

    /// <summary>The time the dispatchers need to take this many messages at this rate, a pick-up deadline at most.</summary>
    private TimeSpan Drain(double messages, double rate) =>
        rate > 0 ? TimeSpan.FromSeconds(Math.Min(_options.PickUpDeadline.TotalSeconds, messages / rate)) : _options.PickUpDeadline;
}
