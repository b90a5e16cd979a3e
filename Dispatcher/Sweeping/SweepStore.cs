using Dapper;
using Npgsql;

namespace GovSg.Dispatcher.Sweeping;

public sealed class SweepStore(NpgsqlDataSource dataSource)
{
    // attempts = 0 means no dispatcher has taken the command yet: it may still be waiting in a backlog, so those are
    // only re-published when the caller knows the queue is drained. Any other due message (retry time reached, claim
    // lapsed, pause over) has no command in flight and is always published.
    private const string TakeDueSql = """
        UPDATE messages SET sweep_at = @nextSweep
        WHERE id IN (SELECT id FROM messages
                     WHERE status = 'UNSENT' AND sweep_at <= @now AND (attempts > 0 OR @includeNeverClaimed)
                     ORDER BY sweep_at
                     LIMIT @limit
                     FOR UPDATE SKIP LOCKED)
        RETURNING id
        """;

    private const string ExpireSql = """
        UPDATE messages SET
            status = 'ERROR', errored_at = @now, updated_at = @now, error_code = 'expired',
            error_description = 'Not accepted by the provider within the message''s validity'
                                || COALESCE('; last error ' || last_error, '')
        WHERE id IN (SELECT id FROM messages
                     WHERE status = 'UNSENT' AND expires_at <= @now AND available_at <= @now
                     ORDER BY expires_at
                     LIMIT @limit
                     FOR UPDATE SKIP LOCKED)
        RETURNING id
        """;

    /// <summary>Takes messages whose command must be (re-)published, and moves their next sweep to <paramref name="nextSweep"/>.</summary>
    public async Task<IReadOnlyList<long>> TakeDueAsync(DateTime now, DateTime nextSweep, bool includeNeverClaimed, int limit,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<long>(new CommandDefinition(TakeDueSql,
            new { now, nextSweep, includeNeverClaimed, limit }, cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>Turns UNSENT messages past their validity (and not in flight) into ERROR <c>expired</c>.</summary>
    public async Task<int> ExpireAsync(DateTime now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<long>(new CommandDefinition(ExpireSql, new { now, limit },
            cancellationToken: cancellationToken))).Count();
    }
}
