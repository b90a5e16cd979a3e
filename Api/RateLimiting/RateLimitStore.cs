using Dapper;
using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Api.RateLimiting;

public sealed record RateLimitHit(long UserId, DateTime Window);

/// <summary>The per-user request counters, one row per user for its current one-second window.</summary>
public sealed class RateLimitStore : IAsyncDisposable
{
    // Counts a batch of requests: a later window resets a user's count, an earlier one (a replica whose clock lags)
    // counts towards the current window. Users are taken in id order so concurrent batches lock rows in one order.
    private const string CountSql = """
        INSERT INTO rate_limit_windows AS w (user_id, window_start, count)
        SELECT user_id, @window, count(*)::int FROM unnest(@userIds) AS r(user_id) GROUP BY user_id ORDER BY user_id
        ON CONFLICT (user_id) DO UPDATE SET
            count = CASE WHEN excluded.window_start > w.window_start THEN excluded.count ELSE w.count + excluded.count END,
            window_start = GREATEST(w.window_start, excluded.window_start)
        RETURNING user_id, count
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly Batcher<RateLimitHit, int> _counts;

    public RateLimitStore(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        _counts = new Batcher<RateLimitHit, int>(CountBatchAsync, maxBatch: 500, concurrency: 2);
    }

    /// <summary>Counts one request in the user's window; returns its place in the window (1 for the first).</summary>
    public Task<int> CountAsync(long userId, DateTime window) => _counts.RunAsync(new RateLimitHit(userId, window));

    public ValueTask DisposeAsync() => _counts.DisposeAsync();

    private async Task<IReadOnlyList<int>> CountBatchAsync(IReadOnlyList<RateLimitHit> batch)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        var totals = (await connection.QueryAsync<(long UserId, int Count)>(new CommandDefinition(CountSql, new
        {
            userIds = batch.Select(h => h.UserId).ToArray(),
            window = batch.Max(h => h.Window),
        }))).ToDictionary(t => t.UserId, t => t.Count);

        // Each user's requests in this batch take the last places of its count, in arrival order.
        var batchSizes = batch.CountBy(h => h.UserId).ToDictionary();
        var seen = new Dictionary<long, int>();
        var places = new int[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var user = batch[i].UserId;
            seen[user] = seen.GetValueOrDefault(user) + 1;
            places[i] = totals[user] - batchSizes[user] + seen[user];
        }

        return places;
    }
}
