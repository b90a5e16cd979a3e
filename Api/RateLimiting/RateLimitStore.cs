using Dapper;
using Npgsql;

namespace GovSg.Api.RateLimiting;

/// <summary>The token buckets every Api replica shares, one row per user and bucket (0008_token_buckets.sql).</summary>
public sealed class RateLimitStore(NpgsqlDataSource dataSource)
{
    // A new bucket starts full, so its first take always fits (callers never ask for more than the burst). Later takes
    // refill from the stored time: a take fits while the bucket, moved `cost` later, is full within `window` of now.
    // A refused take leaves the bucket as it was; a replica whose clock lags sees less room, never more.
    private const string TakeSql = """
        INSERT INTO rate_limit_buckets AS b (user_id, bucket, full_at, granted)
        VALUES (@userId, @bucket, @now + @cost, true)
        ON CONFLICT (user_id, bucket) DO UPDATE SET
            granted = GREATEST(b.full_at, @now) + @cost <= @now + @window,
            full_at = CASE WHEN GREATEST(b.full_at, @now) + @cost <= @now + @window
                           THEN GREATEST(b.full_at, @now) + @cost ELSE b.full_at END
        RETURNING granted, full_at
        """;

    /// <summary>Takes <paramref name="tokens"/> from the bucket if it holds that many, in one guarded statement.</summary>
    public async Task<TakeOutcome> TakeAsync(long userId, string bucket, BucketLimit limit, int tokens, DateTime now,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tokens, limit.Burst);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (granted, fullAt) = await connection.QuerySingleAsync<(bool, DateTime)>(new CommandDefinition(TakeSql, new
        {
            userId,
            bucket,
            now,
            cost = limit.Cost(tokens),
            window = limit.Window,
        }, cancellationToken: cancellationToken));
        return TokenBucket.Outcome(limit, tokens, granted, fullAt, now);
    }
}
