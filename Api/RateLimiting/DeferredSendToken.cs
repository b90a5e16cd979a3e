namespace GovSg.Api.RateLimiting;

/// <summary>
/// A single send's token, taken by the statement that stores the message (one round trip for both; SPEC §7 still
/// holds: nothing is stored without a token, and the bucket is the one all replicas share). A request that ends before
/// that statement — malformed, invalid, a mismatched key — has its token taken afterwards by
/// <see cref="SendRateLimitFilter"/>, so its answer is still 429 when the bucket is empty, as if it had been taken first.
/// </summary>
public sealed class DeferredSendToken(long userId, string bucket, BucketLimit limit)
{
    public long UserId { get; } = userId;

    public string Bucket { get; } = bucket;

    public BucketLimit Limit { get; } = limit;

    /// <summary>Set once the token was taken (or refused) with the insert.</summary>
    public TakeOutcome? Outcome { get; set; }
}
