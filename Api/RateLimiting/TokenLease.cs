namespace GovSg.Api.RateLimiting;

/// <summary>
/// Tokens of one shared bucket that a take got beyond the requests it served, which this replica hands out without a
/// round trip until they run out or <see cref="Duration"/> passes. They were taken from the shared bucket, so the
/// replicas together never grant more than it holds. Tokens left when a lease ends go back to the bucket with the
/// bucket's next take on this replica (<see cref="Close"/>); until then they are missing from it, which only makes the
/// limit stricter, by at most <see cref="MaxSurplus"/>. Each handed-out token reports the bucket as the take left it
/// plus the lease's tokens still to come, as the takes coalesced into one statement do.
/// </summary>
public sealed class TokenLease(BucketLimit limit, int granted, int handedOut, DateTime fullAt, DateTime until, int surplus)
{
    /// <summary>How long a lease's tokens may be handed out.</summary>
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private int _handedOut = handedOut;
    private bool _closed;

    /// <summary>What this lease asked for beyond the requests of its take.</summary>
    public int Surplus => surplus;

    /// <summary>When its tokens can no longer be handed out.</summary>
    public DateTime Until => until;

    /// <summary>Every token handed out: demand kept up with the lease, so the next may be larger.</summary>
    public bool UsedUp
    {
        get
        {
            lock (_lock)
            {
                return _handedOut >= granted;
            }
        }
    }

    /// <summary>
    /// The tokens a take at <paramref name="now"/> may ask for beyond the <paramref name="waiting"/> requests it serves.
    /// Concurrent requests ask for as many again as wait beyond the first. After a lease used up before it ended, the
    /// take asks for twice that lease's surplus, and for one after a take that leased none (every take leaves a lease,
    /// if only of its own tokens), so requests that come one at a time but more than once a
    /// <see cref="Duration"/> share takes too. After a lease that outlasted the demand, ended less than a
    /// <see cref="Duration"/> ago, it asks for half, so a steady demand settles between the two sizes instead of
    /// starting over. A lone request in a quiet bucket asks for none, so a user sending now and then is limited exactly.
    /// A tenth of the burst at most, so a small bucket stays exact and what a lease can strand is small.
    /// </summary>
    public static int SurplusFor(BucketLimit limit, int waiting, TokenLease? previous, DateTime now)
    {
        var surplus = previous switch
        {
            { UsedUp: true } when now < previous.Until => Math.Max(waiting - 1, Math.Max(1, previous.Surplus * 2)),
            not null when now < previous.Until + Duration => Math.Max(waiting - 1, previous.Surplus / 2),
            _ => waiting - 1,
        };
        return Math.Clamp(surplus, 0, MaxSurplus(limit));
    }

    /// <summary>The largest surplus a take of a bucket with <paramref name="limit"/> asks for.</summary>
    public static int MaxSurplus(BucketLimit limit) => limit.Burst / 10;

    /// <summary>The next token's outcome, or null when none is left, the lease ended or the user's limit changed.</summary>
    public TakeOutcome? TryHandOut(BucketLimit current, DateTime now)
    {
        lock (_lock)
        {
            if (_closed || current != limit || now >= until || _handedOut >= granted)
            {
                return null;
            }

            _handedOut++;
            return TokenBucket.SingleOutcome(limit, granted, fullAt, _handedOut, now);
        }
    }

    /// <summary>
    /// Ends the lease, for the bucket's next take: nothing more is handed out, and the tokens it still held (once: none
    /// after that) are for that take to give back.
    /// </summary>
    public int Close()
    {
        lock (_lock)
        {
            var unused = _closed ? 0 : granted - _handedOut;
            _closed = true;
            return unused;
        }
    }
}
