using System.Globalization;
using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;
using Microsoft.Extensions.Options;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// The per-user limits of SPEC §7 over the shared buckets: sends take one token per message, reads one token, each
/// from the user's bucket for the caller's key type. Live and test keys have separate buckets (SPEC §7, §11.2), reads'
/// too: an agency's tests polling hard with a test key never get its production integration refused.
/// </summary>
public sealed class RateLimiter(RateLimitStore store, IOptions<RateLimitOptions> options, ApiMetrics metrics, TimeProvider time)
{
    private readonly BucketLimit _readLimit = new(options.Value.ReadsPerSecond, options.Value.ReadBurst);

    public static BucketLimit SendLimit(Caller caller) => new(caller.RateLimitPerSecond, caller.RateLimitBurst);

    /// <summary>
    /// Takes <paramref name="messages"/> send tokens and puts the <c>RateLimit-*</c> headers on the answer; the 429
    /// to answer with when there are not enough.
    /// </summary>
    public async Task<ApiError?> TakeSendAsync(HttpContext http, Caller caller, int messages) =>
        Answer(http, await store.TakeAsync(caller.UserId, SendBucket(caller), SendLimit(caller), messages,
            time.GetUtcNow().UtcDateTime, http.RequestAborted));

    /// <summary>
    /// Returns the send tokens of a request that became the replay of one another Api stored meanwhile, which its own
    /// look at the key could not see: replays take no send token (SPEC §7).
    /// </summary>
    public Task GiveBackSendAsync(Caller caller, int messages, CancellationToken cancellationToken) =>
        store.GiveBackAsync(caller.UserId, SendBucket(caller), SendLimit(caller), messages, cancellationToken);

    /// <summary>Takes one read token; the 429 to answer with when there is none. Reads carry no <c>RateLimit-*</c> headers.</summary>
    public async Task<ApiError?> TakeReadAsync(HttpContext http, Caller caller) =>
        Refusal(await store.TakeAsync(caller.UserId, ReadBucket(caller), _readLimit, 1, time.GetUtcNow().UtcDateTime,
            http.RequestAborted));

    private static string SendBucket(Caller caller) => $"send:{caller.KeyType}";

    private static string ReadBucket(Caller caller) => $"read:{caller.KeyType}";

    private ApiError? Answer(HttpContext http, TakeOutcome outcome)
    {
        var headers = http.Response.Headers;
        headers[ApiHeaders.RateLimitLimit.Name] = Header(outcome.Limit);
        headers[ApiHeaders.RateLimitRemaining.Name] = Header(outcome.Remaining);
        headers[ApiHeaders.RateLimitReset.Name] = Header(outcome.ResetSeconds);
        return Refusal(outcome);
    }

    private ApiError? Refusal(TakeOutcome outcome)
    {
        if (outcome.Granted)
        {
            return null;
        }

        metrics.RateLimited();
        return ApiError.RateLimited(outcome.RetryAfterSeconds);
    }

    private static string Header(int value) => value.ToString(CultureInfo.InvariantCulture);
}
