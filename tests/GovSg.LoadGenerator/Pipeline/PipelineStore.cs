using Dapper;
using Npgsql;

namespace GovSg.LoadGenerator.Pipeline;

/// <summary>What the services wrote for a run's messages (all messages of its measured users), read from PostgreSQL.</summary>
internal sealed class PipelineStore(NpgsqlDataSource dataSource)
{
    private const string ProgressSql = """
        SELECT count(*) AS total,
               count(*) FILTER (WHERE status = 'UNSENT') AS unsent,
               count(*) FILTER (WHERE status NOT IN ('READ', 'ERROR')) AS unread,
               (SELECT count(*) FROM status_events WHERE user_id = ANY(@userIds)) AS callbacks_pending
        FROM messages
        WHERE user_id = ANY(@userIds)
        """;

    // READ is a message's last change, so updated_at is when it was recorded; read_at is the provider's whole-second
    // timestamp, too coarse for sub-second latencies. Ordered-set aggregates skip NULLs, so each percentile covers only
    // the messages that reached that status. The steady window is the middle 90% of the ACCEPTED writes: it leaves out
    // the ramp-up and the tail, so the rate is the dispatchers' pace rather than the offered load's edges.
    private const string StatsSql = """
        WITH run AS (
            SELECT accepted_at,
                   extract(epoch FROM accepted_at - created_at)::float8 * 1000 AS accepted_ms,
                   CASE WHEN status = 'READ' THEN updated_at END AS read_recorded_at,
                   CASE WHEN status = 'READ' THEN extract(epoch FROM updated_at - created_at)::float8 * 1000 END AS read_ms
            FROM messages
            WHERE user_id = ANY(@userIds)
        ),
        steady AS (
            SELECT percentile_disc(0.05) WITHIN GROUP (ORDER BY accepted_at) AS from_at,
                   percentile_disc(0.95) WITHIN GROUP (ORDER BY accepted_at) AS until_at
            FROM run
        )
        SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY accepted_ms) AS accepted_p50_ms,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY accepted_ms) AS accepted_p99_ms,
               max(accepted_ms) AS accepted_max_ms,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY read_ms) AS read_p50_ms,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY read_ms) AS read_p99_ms,
               max(read_ms) AS read_max_ms,
               count(accepted_at) AS accepted,
               count(read_ms) AS read,
               min(accepted_at) AS first_accepted_at,
               max(accepted_at) AS last_accepted_at,
               max(read_recorded_at) AS last_read_at,
               (SELECT from_at FROM steady) AS steady_from,
               (SELECT until_at FROM steady) AS steady_until,
               (SELECT count(*) FROM run, steady WHERE run.accepted_at BETWEEN steady.from_at AND steady.until_at) AS steady_accepted
        FROM run
        """;

    private const string StatusCountsSql = """
        SELECT status::text AS status, count(*) AS count
        FROM messages
        WHERE user_id = ANY(@userIds)
        GROUP BY status
        ORDER BY status
        """;

    private const string DiscardSql = "DELETE FROM messages WHERE user_id = ANY(@userIds) AND status = 'UNSENT'";

    public async Task<DrainProgress> ProgressAsync(long[] userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<DrainProgress>(new CommandDefinition(ProgressSql, new { userIds },
            cancellationToken: cancellationToken));
    }

    public async Task<PipelineStats> StatsAsync(long[] userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<PipelineStats>(new CommandDefinition(StatsSql, new { userIds },
            cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<(string Status, long Count)>> StatusCountsAsync(long[] userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string Status, long Count)>(new CommandDefinition(StatusCountsSql,
            new { userIds }, cancellationToken: cancellationToken));
        return rows.ToList();
    }

    /// <summary>Deletes the run's messages still UNSENT, so an ingest-only run leaves no backlog for the next one.</summary>
    public async Task<int> DiscardUnsentAsync(long[] userIds, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(DiscardSql, new { userIds }, cancellationToken: cancellationToken));
    }
}

/// <summary>The run's messages by where they are, and its status events not yet delivered to a callback URL.</summary>
internal sealed record DrainProgress(long Total, long Unsent, long Unread, long CallbacksPending);
