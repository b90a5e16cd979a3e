using Dapper;
using GovSg.Callbacks;
using Npgsql;

namespace GovSg.Dispatcher.Sweeping;

public sealed class SweepStore(NpgsqlDataSource dataSource)
{
    // Claimed before (attempts > 0): a retry fell due, a claim lapsed or a pause ended; no command is in flight.
    private const string TakeClaimedDueSql = """
        UPDATE messages SET sweep_at = @nextSweep
        WHERE id IN (SELECT id FROM messages
                     WHERE status = 'UNSENT' AND attempts > 0 AND sweep_at <= @now
                     ORDER BY sweep_at
                     LIMIT @limit
                     FOR UPDATE SKIP LOCKED)
        RETURNING id
        """;

    // Never claimed: the command may still be queued or fetched, so the caller says how old one must be to count as lost.
    private const string TakeUnclaimedDueSql = """
        UPDATE messages SET sweep_at = @nextSweep
        WHERE id IN (SELECT id FROM messages
                     WHERE status = 'UNSENT' AND attempts = 0 AND sweep_at <= @unclaimedDueBy
                     ORDER BY sweep_at
                     LIMIT @limit
                     FOR UPDATE SKIP LOCKED)
        RETURNING id
        """;

    // A claim whose lease ended with its call still open: its dispatcher died or hung, maybe after the provider took the
    // message. Held for reconciliation like a timed-out call (SPEC §5), never simply claimed again.
    private const string HoldLapsedClaimsSql = """
        UPDATE messages SET
            available_at = @holdUntil, sweep_at = @holdUntil, call_open = false, held_attempt = attempts, held_at = @now,
            last_error = 'claim_lapsed: no outcome was recorded for the call'
        WHERE id IN (SELECT id FROM messages
                     WHERE call_open AND status = 'UNSENT' AND available_at <= @now
                     ORDER BY available_at
                     LIMIT @limit
                     FOR UPDATE SKIP LOCKED)
        RETURNING id
        """;

    // Expiry changes the status, so it records its status events in the same statement (SPEC §4).
    private const string ExpireSql = $"""
        WITH changed AS (
            UPDATE messages m SET
                status = 'ERROR', errored_at = @now, updated_at = @now, error_code = 'expired',
                error_description = 'Not accepted by the provider within the message''s validity'
                                    || COALESCE('; last error ' || m.last_error, '')
            WHERE m.id IN (SELECT id FROM messages
                           WHERE status = 'UNSENT' AND expires_at <= @now AND available_at <= @now AND NOT call_open
                           ORDER BY expires_at
                           LIMIT @limit
                           FOR UPDATE SKIP LOCKED)
            RETURNING m
        ), {StatusEventSql.RecordChanged}
        SELECT (c.m).id FROM changed c
        """;

    /// <summary>
    /// Takes messages whose command must be (re-)published — never-claimed ones only if due by
    /// <paramref name="unclaimedDueBy"/>, none when it is null — and moves their next sweep to <paramref name="nextSweep"/>.
    /// </summary>
    public async Task<IReadOnlyList<long>> TakeDueAsync(DateTime now, DateTime nextSweep, DateTime? unclaimedDueBy, int limit,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var parameters = new { now, nextSweep, limit, unclaimedDueBy };
        var due = (await connection.QueryAsync<long>(new CommandDefinition(TakeClaimedDueSql, parameters,
            cancellationToken: cancellationToken))).ToList();
        if (unclaimedDueBy is not null && due.Count < limit)
        {
            due.AddRange(await connection.QueryAsync<long>(new CommandDefinition(TakeUnclaimedDueSql,
                parameters with { limit = limit - due.Count }, cancellationToken: cancellationToken)));
        }

        return due;
    }

    /// <summary>Holds messages whose claim lapsed during their call until <paramref name="holdUntil"/>.</summary>
    public async Task<int> HoldLapsedClaimsAsync(DateTime now, DateTime holdUntil, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<long>(new CommandDefinition(HoldLapsedClaimsSql, new { now, holdUntil, limit },
            cancellationToken: cancellationToken))).Count();
    }

    /// <summary>Turns UNSENT messages past their validity (and not in flight) into ERROR <c>expired</c>.</summary>
    public async Task<int> ExpireAsync(DateTime now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<long>(new CommandDefinition(ExpireSql, new { now, limit },
            cancellationToken: cancellationToken))).Count();
    }
}
