using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.TestKeys;
using GovSg.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// A command to send one message, with the trace it was accepted in, and whether its command said it is a test key's
/// message (one that does not say so may still be one).
/// </summary>
public sealed record SendCommand(long MessageId, ActivityContext Trace, bool Test = false);

/// <summary>
/// Sends messages: claim them, call the provider for each (tagged with <see cref="CallbackData"/>), and hand each
/// outcome to the <see cref="FailurePolicy"/> and its decision to the <see cref="SendOutcomeWriter"/> as soon as it
/// arrives (SPEC §4–§5). The claim makes redeliveries and concurrent dispatchers harmless; a call whose outcome is
/// unknown — a timeout, or a crash between the provider's answer and the outcome write — is reconciled from the
/// provider's statuses before the message is ever sent again.
/// </summary>
public sealed class MessageSender(
    SendStore store,
    WhatsAppClient client,
    ProviderGate gate,
    DisabledUsers disabledUsers,
    FailurePolicy policy,
    SendOutcomeWriter writer,
    TestSender testSender,
    IBus bus,
    IOptions<RetryOptions> retryOptions,
    IOptions<WhatsAppOptions> whatsAppOptions,
    IHostApplicationLifetime stopping,
    DispatcherMetrics metrics,
    TimeProvider time,
    ILogger<MessageSender> logger)
{
    private static readonly ActivitySource Source = new(DispatcherMetrics.Name);

    private static readonly SendOutcome Stopped = SendOutcome.NotCalled(FailureKind.Stopping, "The dispatcher stopped before the call");

    /// <summary>How long returning unclaimed commands to the queue may hold a stopping dispatcher.</summary>
    private static readonly TimeSpan ReturnTimeout = TimeSpan.FromSeconds(5);

    private static readonly SendOutcome LateTurn = SendOutcome.NotCalled(FailureKind.LateTurn,
        "The slot came too late for the call to end within the claim's lease");

    /// <summary>Handed back like a late turn: the sweep then ends it expired, with an operator's cancel if one came.</summary>
    private static readonly SendOutcome PastValidity = SendOutcome.NotCalled(FailureKind.LateTurn,
        "The slot came after the message's validity");

    /// <summary>
    /// How long a batch waits for its slots before its test messages are answered without them: far longer than the
    /// reservation's round trip, even on a busy database, so that only a full schedule costs the extra claim.
    /// </summary>
    private static readonly TimeSpan TestMessagesWait = TimeSpan.FromSeconds(1);

    private static readonly SendOutcome RecipientWaiting = SendOutcome.NotCalled(FailureKind.RecipientWaiting,
        "The recipient met the pair rate limit since the claim");

    private static readonly SendOutcome UserDisabled = SendOutcome.NotCalled(FailureKind.UserDisabled,
        "The user was disabled since the claim");

    private readonly RetryOptions _retry = retryOptions.Value;
    private readonly WhatsAppOptions _whatsApp = whatsAppOptions.Value;

    private readonly ConcurrentDictionary<Task, byte> _underWay = new();

    /// <summary>
    /// The pair-rate waits this dispatcher met, for the calls it claimed before they began; claims read every
    /// dispatcher's waits from the database.
    /// </summary>
    private readonly ConcurrentDictionary<string, DateTime> _recipientWaits = new(StringComparer.Ordinal);

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
        // A test key's message never reaches the provider nor counts against its rate (SPEC §11.2). Those a command
        // says are one take no slot of the number's pace: they are claimed as test messages and answered at once, so
        // test traffic never holds up live messages. (A live message such a command names is not claimed; the sweep
        // re-publishes its command.)
        var tests = Traces(commands.Where(c => c.Test));
        var simulated = tests.Count > 0 ? await SimulateAsync(tests, cancellationToken) : (Count: 0, Written: Task.CompletedTask);
        try
        {
            var live = Traces(commands.Where(c => !c.Test));
            if (live.Count > 0)
            {
                await SendLiveAsync(live, commands.Count - simulated.Count, cancellationToken);
            }
            else
            {
                metrics.ClaimsSkipped(commands.Count - simulated.Count);
            }
        }
        finally
        {
            // Their outcomes are written whatever became of the rest, and the batch ends with them (DrainAsync).
            await simulated.Written;
        }
    }

    /// <summary>
    /// Reserves slots for the messages, claims them and calls the provider for each in its slot (a test message among
    /// them is answered as the provider would); <paramref name="commands"/> counts the commands they came in.
    /// </summary>
    private async Task SendLiveAsync(Dictionary<long, ActivityContext> traces, int commands, CancellationToken cancellationToken)
    {
        // Slots are reserved before the claim, so the claim's lease covers the wait for the last of them and the call
        // after it: a lease that lapsed while a message waited its turn would let another dispatcher send it too.
        var reserving = gate.ReserveAsync(traces.Count, stopping.ApplicationStopping);
        var simulatedFirst = await SimulateWhileReservingAsync(reserving, traces, cancellationToken);
        try
        {
            var grant = await reserving;
            var now = Now();
            if (grant is null)
            {
                // Stopping before any slot: the messages are left unclaimed and their commands go back to the queue,
                // as MassTransit acknowledges these deliveries when this returns (a test message answered meanwhile is
                // skipped by its next claim).
                await ReturnToQueueAsync(traces);
                return;
            }

            var leaseUntil = gate.LatestCall(grant) + _whatsApp.Timeout + _retry.ClaimLease;
            IReadOnlyList<ClaimedMessage> claimed = [];
            List<ClaimedMessage> toCall = [];
            try
            {
                claimed = await store.ClaimAsync([.. traces.Keys], now, leaseUntil, cancellationToken);
                // The rest are already sent, finished, claimed by another dispatcher, not yet due, or expired.
                metrics.ClaimsSkipped(commands - claimed.Count - simulatedFirst.Count);
                Claimed(claimed, now);
                toCall = await WithoutRefusedAsync([.. claimed.Where(m => !TestProvider.IsTest(m))], now);
            }
            finally
            {
                // The messages called take the grant's first slots; the rest, test messages' included (they never
                // reach the provider), go back to the schedule.
                await gate.ReleaseAsync(grant, grant.Slot(toCall.Count));
            }

            // From here each call runs to completion even during shutdown: abandoning it would leave its outcome
            // unknown. Only a message still waiting for its slot is handed back when the dispatcher stops.
            // A call must end within the lease: a slot later than that (the pace was cut after the claim) is not used.
            var callBy = leaseUntil - _whatsApp.Timeout;
            var calls = toCall.Select((message, index) => CallAsync(message, now, grant.Slot(index), callBy, traces[message.Id])).ToList();
            // Test messages are answered while the live calls are under way: neither waits for the other, and a failure
            // of one never keeps the other's outcomes from being recorded.
            var simulated = testSender.SendAsync([.. claimed.Where(TestProvider.IsTest)], now);
            while (calls.Count > 0)
            {
                await Task.WhenAny(calls);
                var finished = calls.Where(c => c.IsCompleted).ToList();
                calls.RemoveAll(finished.Contains);
                try
                {
                    await RecordAsync(finished.Select(c => c.Result).ToList());
                }
                catch (Exception exception)
                {
                    // Transient failures are retried inside; this one will not pass. The calls still under way are
                    // recorded all the same, and these messages' claims lapse into a hold that their statuses reconcile
                    // (SPEC §5).
                    logger.LogError(exception, "Recording the outcomes of {Count} provider call(s) failed", finished.Count);
                }
            }

            if (stopping.ApplicationStopping.IsCancellationRequested)
            {
                // The slots of the messages handed back go back too, so the other dispatchers need not wait them out.
                await gate.ReleaseAsync(grant, gate.CurrentSlot);
            }

            await simulated;
        }
        finally
        {
            await simulatedFirst.Written;
        }
    }

    private static Dictionary<long, ActivityContext> Traces(IEnumerable<SendCommand> commands) =>
        commands.DistinctBy(c => c.MessageId).ToDictionary(c => c.MessageId, c => c.Trace);

    /// <summary>
    /// Answers the batch's test messages at once when its slots do not come within <see cref="TestMessagesWait"/>: a
    /// test message never reaches the provider nor counts against its rate (SPEC §11.2), so it does not wait behind
    /// the live messages that fill the number's schedule. A batch whose slots come at once runs no statement more.
    /// </summary>
    private async Task<(int Count, Task Written)> SimulateWhileReservingAsync(Task<PaceGrant?> reserving,
        Dictionary<long, ActivityContext> traces, CancellationToken cancellationToken)
    {
        try
        {
            await reserving.WaitAsync(TestMessagesWait, time, CancellationToken.None);
            return (0, Task.CompletedTask);
        }
        catch (TimeoutException)
        {
        }

        try
        {
            return await SimulateAsync(traces, cancellationToken);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // Claimed with the live messages, then.
            logger.LogWarning("Claiming test messages ahead of their batch's slots failed ({Error})", exception.Message);
            return (0, Task.CompletedTask);
        }
    }

    /// <summary>Claims those of the messages that are test messages and due, and answers them as the provider would.</summary>
    private async Task<(int Count, Task Written)> SimulateAsync(Dictionary<long, ActivityContext> traces,
        CancellationToken cancellationToken)
    {
        var now = Now();
        var claimed = await store.ClaimTestMessagesAsync([.. traces.Keys], now, now + _whatsApp.Timeout + _retry.ClaimLease,
            cancellationToken);
        Claimed(claimed, now);
        return (claimed.Count, testSender.SendAsync(claimed, now));
    }

    private void Claimed(IReadOnlyList<ClaimedMessage> claimed, DateTime now)
    {
        foreach (var message in claimed.Where(m => m.Attempts == 1))
        {
            metrics.QueueLag(now - message.CreatedAt);
        }
    }

    /// <summary>
    /// Publishes the commands of messages this dispatcher will not send, for another one to take at once. The bus stops
    /// its receive endpoints before it disconnects, so the broker is still there; should it not take them, the
    /// lost-command sweep finds the messages (SPEC §8).
    /// </summary>
    private async Task ReturnToQueueAsync(Dictionary<long, ActivityContext> traces)
    {
        try
        {
            await bus.PublishWithinAsync(new SendMessages([.. traces.Keys], [.. traces.Values.Select(SendTrace.Format)]),
                ReturnTimeout, CancellationToken.None);
            logger.LogInformation("Stopping: returned {Count} unsent command(s) to the queue", traces.Count);
        }
        catch (Exception exception)
        {
            logger.LogWarning("Stopping: could not return {Count} unsent command(s) to the queue ({Error}); the sweep re-publishes them",
                traces.Count, exception.Message);
        }
    }

    /// <summary>The claimed messages the policy lets us call; the others get its decision at once.</summary>
    private async Task<List<ClaimedMessage>> WithoutRefusedAsync(IReadOnlyList<ClaimedMessage> claimed, DateTime now)
    {
        var refused = claimed
            .Select(m => (Message: m, Decision: policy.BeforeCall(m)))
            .Where(r => r.Decision is not null)
            .Select(r => (r.Message, r.Decision!))
            .ToList();
        if (refused.Count == 0)
        {
            return [.. claimed];
        }

        await writer.WriteAsync(refused, now);
        return [.. claimed.Except(refused.Select(r => r.Message))];
    }

    /// <summary>
    /// Waits for the message's slot and calls the provider; never throws, so every outcome gets recorded. The turn says
    /// when the call was made and at which pace, for a 130429 to be told apart from the rest of its overload.
    /// </summary>
    private async Task<CallResult> CallAsync(ClaimedMessage message, DateTime claimedAt, DateTime slot, DateTime callBy,
        ActivityContext trace)
    {
        // Commands are consumed in batches; this span puts the provider call back into the message's own trace.
        using var activity = Source.StartActivity("send message", ActivityKind.Internal, trace);
        activity?.SetTag("govsg.message_id", message.Id);
        var call = activity?.Context ?? default;
        try
        {
            try
            {
                if (await gate.TurnAsync(slot, stopping.ApplicationStopping) is not { } turn)
                {
                    return new CallResult(message, Stopped, call, null);
                }

                if (await RefusedAtItsTurnAsync(message, claimedAt, callBy) is { } refused)
                {
                    return new CallResult(refused.Message, refused.Outcome, call, null);
                }

                if (message.Resend)
                {
                    // Sent again after a hold that no status ended: the provider may have the previous attempt too.
                    // Counted here, when the call is made: a claim handed back uncalled is counted by the one that calls.
                    metrics.PossibleDuplicate();
                }

                var outcome = await client.SendAsync(ToOutgoing(message), CancellationToken.None);
                if (outcome.Kind == FailureKind.PairRate)
                {
                    RememberRecipientWait(message.Recipient, Now() + _retry.RecipientWait);
                }

                return new CallResult(message, outcome, call, turn);
            }
            finally
            {
                gate.CallReturned();
            }
        }
        catch (Exception exception)
        {
            // The exception is for operators; agencies read error_description, which never names our internals.
            logger.LogError(exception, "Sending message {MessageId} failed unexpectedly", message.Id);
            return new CallResult(message, SendOutcome.Failure(FailureKind.Transient, "dispatcher_error",
                "Unexpected failure while calling the provider", possiblySent: true), call, null);
        }
    }

    /// <summary>
    /// Why a claimed message whose turn has come is not called after all (null when it is), with the message as its
    /// outcome is recorded.
    /// </summary>
    private async ValueTask<(ClaimedMessage Message, SendOutcome Outcome)?> RefusedAtItsTurnAsync(ClaimedMessage message,
        DateTime claimedAt, DateTime callBy)
    {
        // Asked before the lease is checked: the read takes its time from the lease.
        if (Now() - claimedAt > DisabledUsers.MaxAge && await disabledUsers.IsDisabledAsync(message.UserId, CancellationToken.None))
        {
            logger.LogInformation("Message {MessageId}'s user was disabled since its claim; handed back uncalled", message.Id);
            return (message, UserDisabled);
        }

        if (Now() > callBy)
        {
            // Once the lease lapses the sweeper may hand the message to another dispatcher: calling now could send it twice.
            logger.LogWarning("Message {MessageId} got its slot after its claim's lease; handed back uncalled", message.Id);
            return (message, LateTurn);
        }

        if (Now() >= message.ExpiresAt)
        {
            // Claimed within its validity, its turn came after it: "1-3 PM" must not go out at 4 (SPEC §3.2).
            logger.LogInformation("Message {MessageId}'s validity ended while it waited for its slot; not called", message.Id);
            return (message, PastValidity);
        }

        if (gate.PausedUntil(Now()) is not null)
        {
            return (message, SendOutcome.NotCalled(FailureKind.Paused, "Sending paused: the provider rejected our credentials"));
        }

        return RecipientWaitUntil(message.Recipient) is { } until
            ? (message with { RecipientWaitUntil = until }, RecipientWaiting)
            : null;
    }

    /// <summary>Until when the recipient waits after a 131056 this dispatcher met; null when it does not.</summary>
    private DateTime? RecipientWaitUntil(string recipient)
    {
        var now = Now();
        return _recipientWaits.TryGetValue(recipient, out var until) && until > now ? until : null;
    }

    /// <summary>Records a wait at once, for the calls of this batch still to come, and drops the waits that have ended.</summary>
    private void RememberRecipientWait(string recipient, DateTime until)
    {
        var now = Now();
        foreach (var ended in _recipientWaits.Where(w => w.Value <= now))
        {
            _recipientWaits.TryRemove(ended);
        }

        _recipientWaits.AddOrUpdate(recipient, until, (_, earlier) => earlier > until ? earlier : until);
    }

    /// <summary>The gate learns from each outcome first, so the policy sees the pause a rejection has just started.</summary>
    private async Task RecordAsync(IReadOnlyList<CallResult> results)
    {
        var now = Now();
        foreach (var result in results)
        {
            await ObserveAsync(result, now);
        }

        var decisions = results
            .Select(r => (r.Message, WithCall(policy.Decide(r.Message, r.Outcome, gate.PausedUntil(now), Random.Shared.NextDouble()), r)))
            .ToList();
        await writer.WriteAsync(decisions, now);
    }

    /// <summary>
    /// An acceptance keeps the span of its call, for the statuses reported on it to link to; a hold, the time of its call
    /// (its turn, which can come a second or more after the claim), for an adoption to record as the acceptance.
    /// </summary>
    private static SendDecision WithCall(SendDecision decision, CallResult result) => decision switch
    {
        SendDecision.Accept accept => accept with { CallTrace = result.Call },
        SendDecision.Hold hold => hold with { CalledAt = result.Turn?.At },
        _ => decision,
    };

    private async Task ObserveAsync(CallResult result, DateTime now)
    {
        var (message, outcome, _, turn) = result;
        if (outcome.Accepted)
        {
            gate.ProviderAccepted();
        }
        else if (outcome.Kind == FailureKind.CredentialsBroken)
        {
            var error = $"{outcome.ErrorCode}: {outcome.ErrorDescription}";
            logger.LogError("The provider rejected our credentials (code {ErrorCode}, text {ErrorFingerprint}); pausing sends",
                outcome.ErrorCode, ProviderErrors.Fingerprint(outcome.ErrorDescription));
            gate.CredentialsRejected(now, error);
        }
        else if (outcome.Kind == FailureKind.Throughput && turn is not null)
        {
            await gate.ThroughputExceededAsync(turn);
        }
        else if (outcome.Kind == FailureKind.PairRate)
        {
            await RecordRecipientWaitAsync(message, now);
        }
    }

    /// <summary>
    /// Holds every message to the recipient back for the pair-rate wait, not only this one (SPEC §5); claims read the
    /// wait. Without it recorded, the next message to the recipient only meets another 131056 and waits then.
    /// </summary>
    private async Task RecordRecipientWaitAsync(ClaimedMessage message, DateTime now)
    {
        try
        {
            await store.WaitForRecipientAsync(message.Recipient, now + _retry.RecipientWait, now, CancellationToken.None);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            logger.LogWarning(exception, "Could not record the pair-rate wait after message {MessageId}", message.Id);
        }
    }

    private DateTime Now() => time.GetUtcNow().UtcDateTime.TruncateToMilliseconds();

    /// <summary>A call's outcome, its span, and its turn when the provider was called.</summary>
    private sealed record CallResult(ClaimedMessage Message, SendOutcome Outcome, ActivityContext Call, PaceTurn? Turn);

    private static OutgoingMessage ToOutgoing(ClaimedMessage message)
    {
        var values = JsonSerializer.Deserialize<Dictionary<string, string>>(message.Params) ?? [];
        return new OutgoingMessage(message.Recipient, message.WhatsappTemplateName, message.LanguageCode,
            message.ParamOrder.Select(name => values[name]).ToList(), CallbackData.Format(message.Id, message.Attempts));
    }
}
