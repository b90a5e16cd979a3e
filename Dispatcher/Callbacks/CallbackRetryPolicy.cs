using Microsoft.Extensions.Options;

namespace GovSg.Dispatcher.Callbacks;

/// <summary>What one delivery attempt came to: the HTTP status, or why there was none.</summary>
public sealed record AttemptResult(int? StatusCode, string Description);

/// <summary>What happens to an event after an attempt.</summary>
public abstract record DeliveryDecision
{
    public sealed record Delivered : DeliveryDecision;

    /// <summary>Try again at <paramref name="At"/>; the endpoint failed.</summary>
    public sealed record RetryAt(DateTime At, string Reason) : DeliveryDecision;

    /// <summary>Give up on the event; <paramref name="EndpointFailed"/> when the endpoint itself did not answer properly.</summary>
    public sealed record Drop(string Reason, bool EndpointFailed) : DeliveryDecision;
}

/// <summary>
/// The retry rules of SPEC §11.1: 2xx is done; 5xx, 408, 429, 3xx (redirects are not followed), timeouts and connection
/// failures are retried with exponential backoff and full jitter (ceiling 5 s, doubling, capped at 1 h) within 24 h of the
/// event; any other answer is dropped at once. This is the only layer that retries a callback.
/// </summary>
public sealed class CallbackRetryPolicy(IOptions<CallbackOptions> options, TimeProvider time, Random random)
{
    private readonly CallbackOptions _options = options.Value;

    public DeliveryDecision Decide(AttemptResult result, int attempts, DateTime eventCreatedAt)
    {
        if (result.StatusCode is >= 200 and < 300)
        {
            return new DeliveryDecision.Delivered();
        }

        if (result.StatusCode is { } status && status is >= 400 and < 500 && status is not (408 or 429))
        {
            return new DeliveryDecision.Drop($"{result.Description}: not retried", EndpointFailed: false);
        }

        var at = time.GetUtcNow().UtcDateTime + Backoff(attempts);
        return at > eventCreatedAt + _options.Budget
            ? new DeliveryDecision.Drop($"{result.Description}: gave up after {_options.BudgetText}", EndpointFailed: true)
            : new DeliveryDecision.RetryAt(at, result.Description);
    }

    /// <summary>
    /// When an endpoint that has now failed <paramref name="consecutiveFailures"/> times in a row may be tried again; null
    /// while it is below the threshold. The pause grows like an event's backoff.
    /// </summary>
    public DateTime? EndpointPausedUntil(int consecutiveFailures) =>
        consecutiveFailures < _options.EndpointFailureThreshold
            ? null
            : time.GetUtcNow().UtcDateTime + Backoff(consecutiveFailures - _options.EndpointFailureThreshold + 1);

    private TimeSpan Backoff(int failedAttempts) =>
        Sending.Backoff.FullJitter(_options.FirstRetryDelay, _options.MaxRetryDelay, failedAttempts, random.NextDouble());
}
