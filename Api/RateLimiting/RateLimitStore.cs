using System.Collections.Concurrent;
using Dapper;
using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Api.RateLimiting;

/// <summary>One request's take: <c>Tokens</c> from the user's bucket, all or none.</summary>
public sealed record BucketTake(long UserId, string Bucket, BucketLimit Limit, int Tokens, DateTime Now);

/// <summary>
/// The token buckets every Api replica shares, one row per user and bucket (0008_token_buckets.sql). Takes of one
/// token (single sends, reads) are coalesced with concurrent ones into one statement, as the message inserts are:
/// one statement per request would cost more database time than the send itself. Under concurrent demand a take also
/// asks for tokens ahead of it (<see cref="TokenLease"/>), which the next requests use without a round trip.
/// </summary>
public sealed class RateLimitStore : IAsyncDisposable
{
    // Per bucket row of `t` (user_id, bucket, wanted, least, per_token, burst, returned): up to `wanted` tokens, granted
    // only if at least `least` are there (1 for coalesced single takes; all of them for a batch), after `returned` tokens
    // are put back (what this replica's last lease of the bucket did not hand out); `taken` returns what each got.
    // Refill is read from the stored time, so a refused take changes nothing but `granted`, and a replica whose clock
    // lags sees less room, never more. Rows are locked in key order first, so concurrent statements from several
    // replicas cannot deadlock. The table is unlogged, so a take commits without waiting for the WAL and holds its
    // row locks only for the statement: the message inserts, which wait for their commit to be flushed, lock nothing
    // shared and are not serialised behind one another.
    private const string TakeSql = """
        WITH t AS (
            SELECT * FROM unnest(@userIds, @buckets, @wanted, @least, @perTokens, @bursts, @returned)
                AS t(user_id, bucket, wanted, least, per_token, burst, returned)
        ), locked AS (
            SELECT b.user_id, b.bucket FROM rate_limit_buckets b JOIN t USING (user_id, bucket)
            ORDER BY b.user_id, b.bucket FOR UPDATE OF b
        ), taken AS (
            UPDATE rate_limit_buckets AS b SET (granted, full_at) = (
                SELECT g.tokens, f.full_at + t.per_token * g.tokens
                FROM (SELECT GREATEST(b.full_at - t.per_token * t.returned, @now) AS full_at) AS f,
                     LATERAL (SELECT CASE WHEN a.tokens >= t.least THEN LEAST(t.wanted, a.tokens) ELSE 0 END AS tokens
                      FROM (SELECT floor(extract(epoch FROM @now + t.per_token * t.burst - f.full_at)
                                         / extract(epoch FROM t.per_token) + 1e-6)::int AS tokens) AS a) AS g)
            FROM t JOIN locked USING (user_id, bucket)
            WHERE b.user_id = t.user_id AND b.bucket = t.bucket
            RETURNING b.user_id, b.bucket, b.granted, b.full_at
        )
        SELECT user_id, bucket, granted, full_at FROM taken
        """;

    // A user's first take finds no row: it is created full, and the take runs again.
    private const string AddBucketsSql = """
        INSERT INTO rate_limit_buckets (user_id, bucket, full_at, granted)
        SELECT user_id, bucket, '-infinity', 0 FROM unnest(@userIds, @buckets) AS n(user_id, bucket)
        ON CONFLICT (user_id, bucket) DO NOTHING
        """;

    // Tokens taken for a request that turned out to replay one another Api was storing meanwhile. A bucket is full at
    // full_at: moving that back by the tokens' time returns them (past full, the next take's GREATEST caps them).
    private const string GiveBackSql = """
        UPDATE rate_limit_buckets SET full_at = full_at - @perToken * @tokens WHERE user_id = @userId AND bucket = @bucket
        """;

    // Far more buckets than are busy at once; past it every lease is dropped, whose tokens then only pass unused.
    private const int MaxLeases = 10_000;

    private readonly NpgsqlDataSource _dataSource;
    private readonly Batcher<BucketTake, TakeOutcome> _singleTakes;
    private readonly ConcurrentDictionary<(long UserId, string Bucket), TokenLease> _leases = new();

    public RateLimitStore(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        // One statement at a time: each batch first hands out what the one before it leased, so leased tokens go to
        // the takes that queued meanwhile instead of passing unused beside a concurrent statement's refusals.
        _singleTakes = new Batcher<BucketTake, TakeOutcome>(TakeSinglesAsync, maxBatch: 500, concurrency: 1);
    }

    /// <summary>Takes <paramref name="tokens"/> from the bucket if it holds that many.</summary>
    public async Task<TakeOutcome> TakeAsync(long userId, string bucket, BucketLimit limit, int tokens, DateTime now,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tokens, limit.Burst);
        var take = new BucketTake(userId, bucket, limit, tokens, now);
        if (tokens == 1)
        {
            return HandOut(take) ?? await _singleTakes.RunAsync(take);
        }

        var (granted, fullAt) = (await TakeAsync([new BucketRequest(userId, bucket, limit, tokens, tokens, 0)], now,
            cancellationToken))[(userId, bucket)];
        return TokenBucket.Outcome(limit, tokens, granted == tokens, fullAt, now);
    }

    /// <summary>Returns <paramref name="tokens"/> taken from the bucket.</summary>
    public async Task GiveBackAsync(long userId, string bucket, BucketLimit limit, int tokens, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(GiveBackSql,
            new { userId, bucket, perToken = limit.PerToken, tokens }, cancellationToken: cancellationToken));
    }

    public ValueTask DisposeAsync() => _singleTakes.DisposeAsync();

    private TakeOutcome? HandOut(BucketTake take) =>
        _leases.TryGetValue((take.UserId, take.Bucket), out var lease) ? lease.TryHandOut(take.Limit, take.Now) : null;

    private async Task<IReadOnlyList<TakeOutcome>> TakeSinglesAsync(IReadOnlyList<BucketTake> batch)
    {
        // Takes that queued while a lease was being taken use it first.
        var outcomes = batch.Select(HandOut).ToArray();
        var now = batch.Max(t => t.Now);
        var waiting = Enumerable.Range(0, batch.Count).Where(i => outcomes[i] is null)
            .GroupBy(i => (batch[i].UserId, batch[i].Bucket)).ToList();
        var requests = waiting.Select(g =>
        {
            var limit = batch[g.Last()].Limit;
            var previous = _leases.GetValueOrDefault(g.Key);
            var surplus = TokenLease.SurplusFor(limit, g.Count(), previous, now);
            return new BucketRequest(g.Key.UserId, g.Key.Bucket, limit, g.Count() + surplus, 1, previous?.Close() ?? 0);
        }).ToList();
        var states = requests.Count > 0 ? await TakeAsync(requests, now, CancellationToken.None) : [];

        // The bucket's granted tokens go to its takes in arrival order; what is left over is leased. A take that granted
        // every request leaves a lease even with nothing left over, which tells the next take that demand is steady.
        foreach (var (group, request) in waiting.Zip(requests))
        {
            var (granted, fullAt) = states[group.Key];
            var place = 0;
            foreach (var i in group)
            {
                outcomes[i] = TokenBucket.SingleOutcome(request.Limit, granted, fullAt, ++place, now);
            }

            if (granted >= place)
            {
                Lease(group.Key, new TokenLease(request.Limit, granted, place, fullAt, now + TokenLease.Duration,
                    request.Wanted - place));
            }
        }

        return outcomes!;
    }

    private void Lease((long UserId, string Bucket) key, TokenLease lease)
    {
        if (_leases.Count >= MaxLeases)
        {
            _leases.Clear();
        }

        _leases[key] = lease;
    }

    private async Task<Dictionary<(long, string), (int Granted, DateTime FullAt)>> TakeAsync(
        IReadOnlyList<BucketRequest> requests, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var states = await RunTakeAsync(connection, requests, now, cancellationToken);
        var missing = requests.Where(r => !states.ContainsKey((r.UserId, r.Bucket))).ToList();
        if (missing.Count > 0)
        {
            await AddBucketsAsync(connection, [.. missing.Select(r => (r.UserId, r.Bucket))], cancellationToken);
            foreach (var (key, state) in await RunTakeAsync(connection, missing, now, cancellationToken))
            {
                states[key] = state;
            }
        }

        return states;
    }

    private static async Task<Dictionary<(long, string), (int Granted, DateTime FullAt)>> RunTakeAsync(
        NpgsqlConnection connection, IReadOnlyList<BucketRequest> requests, DateTime now, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<(long UserId, string Bucket, int Granted, DateTime FullAt)>(new CommandDefinition(TakeSql, new
        {
            userIds = requests.Select(r => r.UserId).ToArray(),
            buckets = requests.Select(r => r.Bucket).ToArray(),
            wanted = requests.Select(r => r.Wanted).ToArray(),
            least = requests.Select(r => r.Least).ToArray(),
            perTokens = requests.Select(r => r.Limit.PerToken).ToArray(),
            bursts = requests.Select(r => r.Limit.Burst).ToArray(),
            returned = requests.Select(r => r.Returned).ToArray(),
            now,
        }, cancellationToken: cancellationToken))).ToDictionary(r => (r.UserId, r.Bucket), r => (r.Granted, r.FullAt));

    /// <summary>Creates missing buckets full, so that a take can run (again) on them.</summary>
    private static Task<int> AddBucketsAsync(NpgsqlConnection connection, IReadOnlyList<(long UserId, string Bucket)> buckets,
        CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(AddBucketsSql, new
        {
            userIds = buckets.Select(b => b.UserId).ToArray(),
            buckets = buckets.Select(b => b.Bucket).ToArray(),
        }, cancellationToken: cancellationToken));

    /// <summary>
    /// Up to <c>Wanted</c> tokens of one bucket, or none when fewer than <c>Least</c> are there, once the
    /// <c>Returned</c> tokens of a lease that ended are back in it.
    /// </summary>
    private sealed record BucketRequest(long UserId, string Bucket, BucketLimit Limit, int Wanted, int Least, int Returned);
}
