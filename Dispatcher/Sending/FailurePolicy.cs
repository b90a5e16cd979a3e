using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Decides what becomes of a claimed message from its attempt, the call's outcome and the time (SPEC §5), and nothing
/// else: no I/O, so every case is a row in a table test. <see cref="SendOutcomeWriter"/> carries the decision out.
/// </summary>
public sealed class FailurePolicy(IOptions<RetryOptions> options, TimeProvider time)
{
    /// <summary>
    /// The error a message gets when its validity ends before the provider accepted it, from the sweep
    /// (<c>SweepStore</c>), followed by "; last error …" when there was one.
    /// </summary>
    public const string ExpiredCode = "expired";

    /// <inheritdoc cref="ExpiredCode"/>
    public const string ExpiredDescription = "Not accepted by the provider within the message's validity";

    /// <summary>How long before the end of its budget or validity a message's last try is made.</summary>
    private static readonly TimeSpan LastTryMargin = TimeSpan.FromSeconds(1);

    private readonly RetryOptions _retry = options.Value;

    /// <param name="message">The attempt, when it first was tried and how long it is valid.</param>
    /// <param name="outcome">What the call (or the lack of one) came to.</param>
    /// <param name="pausedUntil">When sending resumes, while our credentials are rejected.</param>
    /// <param name="jitter">Uniform in [0, 1): spreads retries and resumptions.</param>
    public SendDecision Decide(ClaimedMessage message, SendOutcome outcome, DateTime? pausedUntil, double jitter)
    {
        if (outcome.Accepted)
        {
            return new SendDecision.Accept(outcome.ProviderMessageId!);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var error = $"{outcome.ErrorCode}: {outcome.ErrorDescription}";
        return outcome.Kind switch
        {
            FailureKind.Permanent => new SendDecision.Fail(outcome.ErrorCode, outcome.ErrorDescription),
            FailureKind.Stopping or FailureKind.LateTurn or FailureKind.UserDisabled => new SendDecision.HandBack(),
            FailureKind.RecipientWaiting => new SendDecision.HandBack(message.RecipientWaitUntil),
            FailureKind.CredentialsBroken or FailureKind.Paused =>
                WithinValidity(message, Spread(now, pausedUntil ?? now, jitter),
                    at => new SendDecision.DeferUntil(at, error, Called: outcome.Kind != FailureKind.Paused)),
            // Meta may have sent it: a hold, even past the budget or the validity, so a status can still adopt it.
            _ when outcome.PossiblySent => new SendDecision.Hold(_retry.ReconcileHold, error),
            _ => Retry(message, outcome, now, jitter, error),
        };
    }

    /// <summary>
    /// Null when the claimed message is to be called; otherwise what becomes of it instead. A hold that nothing
    /// adopted ends in a re-send only if the call it reconciled was made within the retry budget: a hold is never
    /// skipped, but it does not buy another try. A message to a recipient still in its pair-rate wait is handed back
    /// until the wait ends.
    /// </summary>
    public SendDecision? BeforeCall(ClaimedMessage message) =>
        message.Resend && message.HeldAt > message.FirstAttemptAt + _retry.Budget
            ? Exhausted(message.Attempts - 1, message.LastError ?? "unknown")
            : message.RecipientWaitUntil is { } until
                ? new SendDecision.HandBack(until)
                : null;

    private SendDecision Retry(ClaimedMessage message, SendOutcome outcome, DateTime now, double jitter, string error)
    {
        var delay = Backoff.FullJitter(_retry.FirstDelay, _retry.MaxDelay, message.Attempts, jitter);
        if (outcome.Kind == FailureKind.PairRate && delay < _retry.RecipientWait)
        {
            delay = _retry.RecipientWait;
        }

        var retryAt = now + delay;
        var budgetEnd = message.FirstAttemptAt + _retry.Budget;
        var lastTry = (budgetEnd < message.ExpiresAt ? budgetEnd : message.ExpiresAt) - LastTryMargin;
        var soonest = outcome.Kind == FailureKind.PairRate ? _retry.RecipientWait : _retry.FirstDelay;
        if (retryAt > lastTry && lastTry - now >= soonest)
        {
            // The draw fell past the budget or the validity while there is still time for a try: that try comes last,
            // rather than the message failing (or expiring) long before its time is up.
            retryAt = lastTry;
        }

        // Whichever ends first, the budget or the validity, ends the message, as retries_exhausted or expired.
        return retryAt > budgetEnd && budgetEnd < message.ExpiresAt
            ? Exhausted(message.Attempts, error)
            : WithinValidity(message, retryAt, at => new SendDecision.RetryAt(at, error));
    }

    private SendDecision.Fail Exhausted(int attempts, string error) => new("retries_exhausted",
        $"Gave up after {attempts} attempt(s) over {_retry.Budget.TotalMinutes:0.#} min; last error {error}");

    /// <summary>
    /// A next try that could only come after the message's validity will never be made: the message waits, unsent, for
    /// its validity to end, when the sweep makes it <c>ERROR</c> <see cref="ExpiredCode"/> with this error as its last. It
    /// is not ended sooner, while it is still valid (SPEC §3.2), and no claim takes it past its validity.
    /// </summary>
    private static SendDecision WithinValidity(ClaimedMessage message, DateTime nextTry, Func<DateTime, SendDecision> decision) =>
        decision(nextTry < message.ExpiresAt ? nextTry : message.ExpiresAt);

    /// <summary>Deferred messages come back spread over up to the pause again (at most 5 s), not all in one instant.</summary>
    private static DateTime Spread(DateTime now, DateTime resumeAt, double jitter) =>
        resumeAt + TimeSpan.FromMilliseconds(jitter * Math.Min(5_000, (resumeAt - now).TotalMilliseconds));
}
