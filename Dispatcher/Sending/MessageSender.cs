using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using GovSg.Dispatcher.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>A command to send one message, with the trace it was accepted in.</summary>
public sealed record SendCommand(long MessageId, ActivityContext Trace);

/// <summary>
/// Sends messages: claim them, call the provider for each, record the outcomes (SPEC §4–§5). The claim is what makes
/// redeliveries and concurrent dispatchers harmless; the only window for a duplicate send is a crash between the
/// provider's answer and the outcome write, kept short by writing each outcome as soon as it arrives (those that
/// arrive together in one statement) and retrying the write through database hiccups.
/// </summary>
public sealed class MessageSender(
    SendStore store,
    WhatsAppClient client,
    ProviderGate gate,
    IOptions<RetryOptions> retryOptions,
    IOptions<WhatsAppOptions> whatsAppOptions,
    IHostApplicationLifetime stopping,
    DispatcherMetrics metrics,
    TimeProvider time,
    ILogger<MessageSender> logger)
{
    private static readonly ActivitySource Source = new(DispatcherMetrics.Name);

    private readonly RetryOptions _retry = retryOptions.Value;
    private readonly WhatsAppOptions _whatsApp = whatsAppOptions.Value;

    private readonly ConcurrentDictionary<Task, byte> _underWay = new();

    /// <summary>Sends a batch; the batch is tracked until its outcomes are recorded (see <see cref="DrainAsync"/>).</summary>
    public Task SendAsync(IReadOnlyList<SendCommand> commands, CancellationToken cancellationToken)
    {
        var batch = SendBatchAsync(commands, cancellationToken);
        _underWay.TryAdd(batch, 0);
        batch.ContinueWith(done => _underWay.TryRemove(done, out _), TaskScheduler.Default);
        return batch;
    }

    /// <summary>
    /// Completes once every batch under way has recorded its outcomes. The bus stops without waiting for them, so the
    /// host waits here before it disposes the database pool their last writes need.
    /// </summary>
    public Task DrainAsync(CancellationToken cancellationToken) =>
        // A batch that failed has already reported it to MassTransit; here only its end matters.
        Task.WhenAll(_underWay.Keys).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(cancellationToken);

    private async Task SendBatchAsync(IReadOnlyList<SendCommand> commands, CancellationToken cancellationToken)
    {
        var now = Now();
        var traces = commands.DistinctBy(c => c.MessageId).ToDictionary(c => c.MessageId, c => c.Trace);
        // Slots are reserved before the claim, so the claim's lease covers the wait for the last of them and the call
        // after it: a lease that lapsed while a message waited its turn would let another dispatcher send it too.
        var slots = traces.Keys.ToDictionary(id => id, _ => now + gate.ReserveSlot());
        var leaseUntil = slots.Values.Max() + _whatsApp.Timeout + _retry.ClaimLease;
        IReadOnlyList<ClaimedMessage> claimed = [];
        try
        {
            claimed = await store.ClaimAsync([.. traces.Keys], now, leaseUntil, cancellationToken);
        }
        finally
        {
            // The slots of messages not claimed here (or of a claim that failed) go back to the gate.
            gate.ReturnSlots(slots.Count - claimed.Count);
        }

        // The rest are already sent, finished, claimed by another dispatcher, not yet due, or expired.
        metrics.ClaimsSkipped(commands.Count - claimed.Count);
        foreach (var message in claimed.Where(m => m.Attempts == 1))
        {
            metrics.QueueLag(now - message.CreatedAt);
        }

        // From here each call runs to completion even during shutdown: abandoning it would leave its outcome unknown.
        // Only a message still waiting for its slot is handed back when the dispatcher stops.
        var calls = claimed.Select(message => CallAsync(message, slots[message.Id], traces[message.Id])).ToList();
        while (calls.Count > 0)
        {
            await Task.WhenAny(calls);
            var finished = calls.Where(c => c.IsCompleted).ToList();
            calls.RemoveAll(finished.Contains);
            await RecordAsync(finished.Select(c => c.Result).ToList());
        }
    }

    /// <summary>Waits for the message's slot and calls the provider; never throws, so every outcome gets recorded.</summary>
    private async Task<(ClaimedMessage Message, SendOutcome Outcome)> CallAsync(ClaimedMessage message, DateTime slot,
        ActivityContext trace)
    {
        // Commands are consumed in batches; this span puts the provider call back into the message's own trace.
        using var activity = Source.StartActivity("send message", ActivityKind.Internal, trace);
        activity?.SetTag("govsg.message_id", message.Id);
        try
        {
            var wait = slot - Now();
            if (wait > TimeSpan.Zero && !await WaitUnlessStoppingAsync(wait))
            {
                return (message, SendOutcome.NotCalled(FailureKind.Stopping, "The dispatcher stopped before the call"));
            }

            if (gate.PausedUntil(Now()) is not null)
            {
                return (message, SendOutcome.NotCalled(FailureKind.Paused, "Sending paused: the provider rejected our credentials"));
            }

            return (message, await client.SendAsync(ToOutgoing(message), CancellationToken.None));
        }
        catch (Exception exception)
        {
            // The exception is for operators; agencies read error_description, which never names our internals.
            logger.LogError(exception, "Sending message {MessageId} failed unexpectedly", message.Id);
            return (message, SendOutcome.Failure(FailureKind.Transient, "dispatcher_error",
                "Unexpected failure while calling the provider", possiblySent: true));
        }
    }

    /// <summary>False when the dispatcher began stopping before the wait was over.</summary>
    private async Task<bool> WaitUnlessStoppingAsync(TimeSpan wait)
    {
        try
        {
            await Task.Delay(wait, time, stopping.ApplicationStopping);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task RecordAsync(IReadOnlyList<(ClaimedMessage Message, SendOutcome Outcome)> results)
    {
        var now = Now();
        var accepted = results.Where(r => r.Outcome.Accepted).Select(r => (r.Message.Id, r.Outcome.ProviderMessageId!)).ToList();
        if (accepted.Count > 0)
        {
            gate.ProviderAccepted();
            await Durably(ct => store.AcceptAsync(accepted, now, ct));
            metrics.StatusChanged("ACCEPTED", accepted.Count);
        }

        foreach (var (message, outcome) in results.Where(r => !r.Outcome.Accepted))
        {
            await RecordFailureAsync(message, outcome, now);
        }
    }

    private async Task RecordFailureAsync(ClaimedMessage message, SendOutcome outcome, DateTime now)
    {
        var error = $"{outcome.ErrorCode}: {outcome.ErrorDescription}";
        switch (outcome.Kind)
        {
            case FailureKind.Permanent:
                await Fail(message, outcome.ErrorCode, outcome.ErrorDescription, now);
                return;
            case FailureKind.Stopping:
                // Handed back as it was: due at once for another dispatcher, its retry budget and last error kept.
                await Durably(ct => store.RetryAsync(message.Id, message.Attempts, now, lastError: null, ct));
                return;
            case FailureKind.CredentialsBroken or FailureKind.Paused:
                if (outcome.Kind == FailureKind.CredentialsBroken)
                {
                    logger.LogError("The provider rejected our credentials (code {ErrorCode}, text {ErrorFingerprint}); pausing sends",
                        outcome.ErrorCode, ProviderErrors.Fingerprint(outcome.ErrorDescription));
                    gate.CredentialsRejected(now, error);
                }

                await Durably(ct => store.DeferAsync(message.Id, message.Attempts, Spread(now, gate.PausedUntil(now) ?? now),
                    error, ct));
                return;
            case FailureKind.Throughput:
                gate.ThroughputExceeded();
                break;
        }

        if (outcome.PossiblySent)
        {
            metrics.PossibleDuplicate();
        }

        var delay = _retry.Backoff(message.Attempts, Random.Shared.NextDouble());
        if (outcome.Kind == FailureKind.PairRate && delay < _retry.PairRateDelay)
        {
            delay = _retry.PairRateDelay;
        }

        var retryAt = now + delay;
        if (retryAt > message.FirstAttemptAt + _retry.Budget)
        {
            await Fail(message, "retries_exhausted",
                $"Gave up after {message.Attempts} attempt(s) over {_retry.Budget.TotalMinutes:0.#} min; last error {error}", now);
            return;
        }

        logger.LogInformation("Message {MessageId} attempt {Attempt} failed (code {ErrorCode}, text {ErrorFingerprint}); retrying in {Delay}",
            message.Id, message.Attempts, outcome.ErrorCode, ProviderErrors.Fingerprint(outcome.ErrorDescription), delay);
        await Durably(ct => store.RetryAsync(message.Id, message.Attempts, retryAt, error, ct));
    }

    private async Task Fail(ClaimedMessage message, string code, string description, DateTime now)
    {
        if (await Durably(ct => store.FailAsync(message.Id, message.Attempts, code, description, now, ct)))
        {
            metrics.StatusChanged("ERROR");
        }
    }

    /// <summary>
    /// An outcome write is retried through transient failures until the database takes it, backing off to one try every
    /// 5 s: losing an ACCEPTED write means the message is sent again once its claim lapses. Returns whether the write
    /// changed the message.
    /// </summary>
    private async Task<bool> Durably(Func<CancellationToken, Task<bool>> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write(CancellationToken.None);
            }
            catch (Exception exception) when (exception is NpgsqlException { IsTransient: true } or TimeoutException)
            {
                logger.LogWarning(exception, "Recording a send outcome failed (attempt {Attempt}); retrying", attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * Math.Pow(2, Math.Min(attempt, 10)))), time);
            }
        }
    }

    /// <summary>Deferred messages come back spread over up to the pause again (at most 5 s), not all in one instant.</summary>
    private static DateTime Spread(DateTime now, DateTime resumeAt) =>
        resumeAt + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * Math.Min(5_000, (resumeAt - now).TotalMilliseconds));

    private DateTime Now()
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
    }

    private static OutgoingMessage ToOutgoing(ClaimedMessage message)
    {
        var values = JsonSerializer.Deserialize<Dictionary<string, string>>(message.Params) ?? [];
        return new OutgoingMessage(message.Recipient, message.WhatsappTemplateName, message.LanguageCode,
            message.ParamOrder.Select(name => values[name]).ToList());
    }
}
