using Dapper;
using Npgsql;

namespace GovSg.Api.RateLimiting;

public sealed class RateLimitStore(NpgsqlDataSource dataSource)
{
    // A later window resets the count; an earlier one (a replica whose clock lags) counts towards the current window.
    private const string CountSql = """
        INSERT INTO rate_limit_windows AS w (user_id, window_start, count)
        VALUES (@userId, @window, 1)
        ON CONFLICT (user_id) DO UPDATE SET
            count = CASE WHEN excluded.window_start > w.window_start THEN 1 ELSE w.count + 1 END,
            window_start = GREATEST(w.window_start, excluded.window_start)
        RETURNING count
        """;

    /// <summary>Counts one request in the user's window and returns the window's count so far.</summary>
    public async Task<int> CountAsync(long userId, DateTime window, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(CountSql, new { userId, window },
            cancellationToken: cancellationToken));
    }
}
