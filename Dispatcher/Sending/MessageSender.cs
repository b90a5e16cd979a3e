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
    DispatcherMetrics metrics,
    TimeProvider time,
    ILogger<MessageSender> logger)
{
    private static readonly ActivitySource Source = new(DispatcherMetrics.Name);

    private readonly RetryOptions _retry = retryOptions.Value;

    public async Task SendAsync(IReadOnlyList<SendCommand> commands, CancellationToken cancellationToken)
    {
        var now = Now();
        var traces = commands.DistinctBy(c => c.MessageId).ToDictionary(c => c.MessageId, c => c.Trace);
        var claimed = await store.ClaimAsync([.. traces.Keys], now, now + _retry.ClaimLease, cancellationToken);
        // The rest are already sent, finished, claimed by another dispatcher, not yet due, or expired.
        metrics.ClaimsSkipped(commands.Count - claimed.Count);
        foreach (var message in claimed.Where(m => m.Attempts == 1))
        {
            metrics.QueueLag(now - message.CreatedAt);
        }

        if (gate.PausedUntil(now) is { } resumeAt)
        {
            foreach (var message in claimed)
            {
                await Durably(ct => store.DeferAsync(message.Id, Spread(now, resumeAt),
                    "Sending paused: the provider rejected our credentials", ct));
            }

            return;
        }

        // From here each call runs to completion even during shutdown: abandoning it would leave its outcome unknown.
        var calls = claimed.Select(message => CallAsync(message, traces[message.Id])).ToList();
        while (calls.Count > 0)
        {
            await Task.WhenAny(calls);
            var finished = calls.Where(c => c.IsCompleted).ToList();
            calls.RemoveAll(finished.Contains);
            await RecordAsync(finished.Select(c => c.Result).ToList());
        }
    }

    private async Task<(ClaimedMessage Message, SendOutcome Outcome)> CallAsync(ClaimedMessage message, ActivityContext trace)
    {
        // Commands are consumed in batches; this span puts the provider call back into the message's own trace.
        using var activity = Source.StartActivity("send message", ActivityKind.Internal, trace);
        activity?.SetTag("govsg.message_id", message.Id);
        await gate.PaceAsync(CancellationToken.None);
        return (message, await client.SendAsync(ToOutgoing(message), CancellationToken.None));
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
                await Fail(message.Id, outcome.ErrorCode, outcome.ErrorDescription, now);
                return;
            case FailureKind.CredentialsBroken:
                logger.LogError("The provider rejected our credentials ({Error}); pausing sends", error);
                gate.CredentialsRejected(now, error);
                await Durably(ct => store.DeferAsync(message.Id, Spread(now, gate.PausedUntil(now) ?? now), error, ct));
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
            await Fail(message.Id, "retries_exhausted",
                $"Gave up after {message.Attempts} attempt(s) over {_retry.Budget.TotalMinutes:0.#} min; last error {error}", now);
            return;
        }

        logger.LogInformation("Message {MessageId} attempt {Attempt} failed ({Error}); retrying in {Delay}",
            message.Id, message.Attempts, error, delay);
        await Durably(ct => store.RetryAsync(message.Id, retryAt, error, ct));
    }

    private async Task Fail(long id, string code, string description, DateTime now)
    {
        await Durably(ct => store.FailAsync(id, code, description, now, ct));
        metrics.StatusChanged("ERROR");
    }

    /// <summary>
    /// An outcome write is retried through short database hiccups: losing an ACCEPTED write means the message is sent
    /// again once its claim lapses.
    /// </summary>
    private async Task Durably(Func<CancellationToken, Task<bool>> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await write(CancellationToken.None);
                return;
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException && attempt < 6)
            {
                logger.LogWarning(exception, "Recording a send outcome failed (attempt {Attempt}); retrying", attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * Math.Pow(2, attempt)), time);
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
