using GovSg.Contracts;
using GovSg.Dispatcher.Extensions;
using GovSg.Hosting;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Carries out the <see cref="FailurePolicy"/>'s decisions, each as one guarded write (<see cref="SendStore"/>):
/// the acceptances that arrive together in one statement, the rest one by one. Writes are retried through database
/// hiccups, since a lost acceptance leaves a call open that can only be reconciled by a hold.
/// </summary>
public sealed class SendOutcomeWriter(SendStore store, DispatcherMetrics metrics, TimeProvider time,
    ILogger<SendOutcomeWriter> logger)
{
    public async Task WriteAsync(IReadOnlyList<(ClaimedMessage Message, SendDecision Decision)> decisions, DateTime now)
    {
        var accepted = decisions
            .Select(d => (d.Message.Id, Accepted: d.Decision as SendDecision.Accept))
            .Where(d => d.Accepted is not null)
            .Select(d => (d.Id, d.Accepted!.ProviderMessageId, SendTrace.Format(d.Accepted.CallTrace)))
            .ToList();
        if (accepted.Count > 0)
        {
            await Durably(ct => store.AcceptAsync(accepted, now, ct));
            metrics.StatusChanged(MessageStatus.Accepted, accepted.Count);
        }

        foreach (var (message, decision) in decisions.Where(d => d.Decision is not SendDecision.Accept))
        {
            await WriteAsync(message, decision, now);
        }
    }

    private async Task WriteAsync(ClaimedMessage message, SendDecision decision, DateTime now)
    {
        switch (decision)
        {
            case SendDecision.Fail fail:
                if (await Durably(ct => store.FailAsync(message.Id, message.Attempts, fail.Code, fail.Description, now, ct)))
                {
                    metrics.StatusChanged(MessageStatus.Error);
                }

                break;
            case SendDecision.RetryAt retry:
                logger.LogInformation("Message {MessageId} attempt {Attempt} failed ({Error}); retrying at {RetryAt:O}",
                    message.Id, message.Attempts, ProviderErrors.Redact(retry.LastError), retry.At);
                await Durably(ct => store.RetryAsync(message.Id, message.Attempts, retry.At, retry.LastError, ct));
                break;
            case SendDecision.DeferUntil defer:
                await Durably(ct => store.DeferAsync(message.Id, message.Attempts, defer.Until, defer.LastError, defer.Called, ct));
                break;
            case SendDecision.Hold hold:
                // The hold's whole length counts from the write that starts it: a write the database kept waiting must
                // not shorten the time a status has to adopt the message, nor end the hold before it began (SPEC §5).
                var holdUntil = now;
                if (await Durably(ct =>
                    {
                        holdUntil = time.GetUtcNow().UtcDateTime + hold.For;
                        return store.HoldAsync(message.Id, message.Attempts, holdUntil, hold.LastError, hold.CalledAt, now, ct);
                    }))
                {
                    metrics.Held();
                    logger.LogWarning("Message {MessageId} attempt {Attempt} has an unknown outcome ({Error}); holding " +
                        "it until {HoldUntil:O} for a status to reconcile it", message.Id, message.Attempts,
                        ProviderErrors.Redact(hold.LastError), holdUntil);
                }

                break;
            case SendDecision.HandBack handBack:
                await Durably(ct => store.HandBackAsync(message.Id, message.Attempts, handBack.Until ?? now, ct));
                break;
        }
    }

    /// <summary>
    /// Retries a write through transient failures until the database takes it, backing off to one try every 5 s.
    /// Returns whether the write changed the message.
    /// </summary>
    private async Task<bool> Durably(Func<CancellationToken, Task<bool>> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write(CancellationToken.None);
            }
            catch (Exception exception) when (PostgresRefusals.IsUnavailable(exception))
            {
                logger.LogWarning(exception, "Recording a send outcome failed (attempt {Attempt}); retrying", attempt);
                await Task.Delay(Backoff.Exponential(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), attempt), time);
            }
        }
    }
}
