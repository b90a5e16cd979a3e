using Dapper;
using GovSg.Callbacks;
using GovSg.Dispatcher.Sending;
using Npgsql;

namespace GovSg.Dispatcher.Sweeping;

public sealed class SweepStore(NpgsqlDataSource dataSource)
{
    // Both takes park the messages of a disabled user (SPEC §7: no Dispatcher sends them) until their expiry instead of
    // returning them: a command for them would only be skipped by the claim, and taken again a deadline later until the
    // messages expire. Enabling the user makes them due again (AdminStore).
    private static string TakeDueSql(string due) => $"""
        WITH taken AS (
            SELECT m.id, EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id AND u.disabled_at IS NOT NULL) AS parked
            FROM messages m
            WHERE {due}
            ORDER BY m.sweep_at
            LIMIT @limit
            FOR UPDATE OF m SKIP LOCKED
        ), moved AS (
            UPDATE messages m SET sweep_at = CASE WHEN t.parked THEN GREATEST(m.expires_at, @nextSweep) ELSE @nextSweep END
            FROM taken t
            WHERE m.id = t.id
            RETURNING m.id, m.key_type = 'test' AS test, t.parked
        )
        SELECT id, test FROM moved WHERE NOT parked
        """;

    // Claimed before (attempts > 0). While sweep_at is the message's own due time (available_at: a retry fell due, a
    // pause or a hold ended, a claim was handed back), no command is in flight and one is published at once. Once a
    // sweep has published one, sweep_at is that command's pick-up deadline; it is presumed lost, and published again,
    // only when the deadline is at or before @republishedLostBy (none when null).
    private static readonly string TakeClaimedDueSql = TakeDueSql("""
        m.status = 'UNSENT' AND m.attempts > 0 AND m.sweep_at <= @now
        AND (m.sweep_at = m.available_at OR m.sweep_at <= @republishedLostBy)
        """);

    // Never claimed, and handed to the sweep: the Api, or a sweep, could not publish its command (sweep_at is back at the
    // message's own due time, as for a claimed one above), so none is in flight and one is published at once, behind a
    // backlog too. Such rows have an index of their own (0038), which a backlog's rows are not in.
    private static readonly string TakeHandedSql =
        TakeDueSql("m.status = 'UNSENT' AND m.attempts = 0 AND m.sweep_at = m.available_at AND m.sweep_at <= @now");

    // Never claimed otherwise: the command the Api published may still be queued or fetched; sweep_at is its pick-up
    // deadline.
    private static readonly string TakeUnclaimedDueSql =
        TakeDueSql("m.status = 'UNSENT' AND m.attempts = 0 AND m.sweep_at <= @unclaimedLostBy");

    // Taken, but its command did not go out: due again at once, with no command in flight, so sweep_at goes back to the
    // message's own due time (for a never-claimed one, when it was stored: long past its deadline). Only while the row
    // still has the sweep the take gave it: a claim, a retry or a hold written since (the publish may have reached the
    // broker after all) keeps its own.
    private const string MakeDueSql = """
        UPDATE messages SET sweep_at = available_at
        WHERE id = ANY(@ids) AND status = 'UNSENT' AND sweep_at = @takenUntil
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

    // Expiry changes the status, so it records its status events in the same statement (SPEC §4). A message an operator
    // asked to cancel while its call or hold was under way had its expiry brought forward (AdminStore): it ends cancelled.
    private const string ExpireSql = $"""
        WITH changed AS (
            UPDATE messages m SET
                status = 'ERROR', errored_at = {StatusEventSql.ChangedAt}, updated_at = {StatusEventSql.ChangedAt},
                error_code = CASE WHEN m.cancel_requested_at IS NULL THEN @expiredCode ELSE {StatusEventSql.CancelledCode} END,
                error_description = CASE WHEN m.cancel_requested_at IS NULL
                    THEN @expiredDescription || COALESCE('; last error ' || m.last_error, '')
                    ELSE {StatusEventSql.CancelledDescription} END
            WHERE m.id IN (SELECT id FROM messages
                           WHERE status = 'UNSENT' AND expires_at <= @now AND available_at <= @now AND NOT call_open
                           ORDER BY expires_at
                           LIMIT @limit
                           FOR UPDATE SKIP LOCKED)
            RETURNING m
        ), {StatusEventSql.RecordChanged}
        SELECT (c.m).id FROM changed c
        """;

    // The earliest time any step of the sweep has work, each from its own index (the expiry's from the first row expiry
    // may take now or later; rows it may not take yet — in a call, held, waiting for a retry — fall due through their
    // sweep_at or the open call's available_at first). A past time means work now; null, none at all.
    private const string NextDueSql = """
        SELECT LEAST(
            (SELECT min(next_attempt_at) FROM pending_status_events),
            (SELECT min(available_at) FROM messages WHERE call_open AND status = 'UNSENT'),
            (SELECT min(sweep_at) FROM messages WHERE status = 'UNSENT' AND attempts > 0),
            (SELECT min(expires_at) FROM messages
             WHERE status = 'UNSENT' AND available_at <= @now AND NOT call_open),
            (SELECT min(sweep_at) FROM messages WHERE status = 'UNSENT' AND attempts = 0))
        """;

    // UNSENT rows up to @limit, from the expiry's partial index: a bounded read however large the backlog.
    private const string CountUnsentSql = """
        SELECT count(*) FROM (SELECT 1 FROM messages WHERE status = 'UNSENT' LIMIT @limit) unsent
        """;

    /// <summary>
    /// The most status events <see cref="ReadBacklogAsync"/> counts. They are the whole of their table, which a paused
    /// endpoint fills for up to a day (tens of millions of rows at a busy agency's pace): counted in full, each collection
    /// of metrics read all of them (0.8 s for 5 million on a fast day), and more than the collection waits for.
    /// </summary>
    internal const long CallbacksCounted = 100_000;

    // Every UNSENT row is in the expiry's partial index, so this reads the backlog's rows, not the whole table. The oldest
    // status event is the first entry of the index on their creation.
    private const string BacklogSql = """
        SELECT u.count, u.oldest, (SELECT count(*) FROM (SELECT 1 FROM status_events LIMIT @callbacksCounted) c),
               (SELECT min(created_at) FROM status_events)
        FROM (SELECT count(*), min(m.created_at) FROM messages m
              WHERE m.status = 'UNSENT'
                AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id AND u.disabled_at IS NOT NULL)) u (count, oldest)
        """;

    /// <summary>
    /// How many messages the provider has not accepted yet (UNSENT), and when the oldest of them was stored (a disabled
    /// user's messages are left out: they wait, unsent on purpose, until they expire); and how many status events wait
    /// for delivery to agencies' callback URLs (up to <see cref="CallbacksCounted"/>), and when the oldest of them was made.
    /// </summary>
    public async Task<Backlogs> ReadBacklogAsync()
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var (unsent, oldestUnsent, callbacks, oldestCallback) =
            await connection.QuerySingleAsync<(long, DateTime?, long, DateTime?)>(BacklogSql,
                new { callbacksCounted = CallbacksCounted });
        return new Backlogs(unsent, oldestUnsent, callbacks, oldestCallback);
    }

    /// <summary>How many messages the provider has not accepted yet (UNSENT), counted up to <paramref name="limit"/>.</summary>
    public async Task<long> CountUnsentAsync(long limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(CountUnsentSql, new { limit },
            cancellationToken: cancellationToken));
    }

    /// <summary>When the sweep next has work (a past time: now; null: nothing at all).</summary>
    public async Task<DateTime?> NextDueAsync(DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(NextDueSql, new { now },
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Takes messages whose command must be (re-)published — those with none in flight (handed to the sweep, or due at
    /// their own time), and those whose command's pick-up deadline is at or before <paramref name="republishedLostBy"/>
    /// (a sweep's) or <paramref name="unclaimedLostBy"/> (the Api's; none when null) — and moves their next sweep to
    /// <paramref name="nextSweep"/>. Each says whether it is a test key's message, for its command to say so too.
    /// </summary>
    public async Task<IReadOnlyList<(long Id, bool Test)>> TakeDueAsync(DateTime now, DateTime nextSweep, DateTime? republishedLostBy,
        DateTime? unclaimedLostBy, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var parameters = new { now, nextSweep, limit, republishedLostBy, unclaimedLostBy };
        var due = new List<(long Id, bool Test)>();
        await TakeAsync(TakeClaimedDueSql);
        await TakeAsync(TakeHandedSql);
        if (unclaimedLostBy is not null)
        {
            await TakeAsync(TakeUnclaimedDueSql);
        }

        return due;

        async Task TakeAsync(string sql)
        {
            if (due.Count < limit)
            {
                due.AddRange(await connection.QueryAsync<(long, bool)>(new CommandDefinition(sql,
                    parameters with { limit = limit - due.Count }, cancellationToken: cancellationToken)));
            }
        }
    }

    /// <summary>
    /// Makes messages taken until <paramref name="takenUntil"/> (<see cref="TakeDueAsync"/>'s next sweep) whose command
    /// could not be published due again at once, unless something has rescheduled them since.
    /// </summary>
    public async Task MakeDueAsync(IReadOnlyList<long> ids, DateTime takenUntil, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(MakeDueSql, new { ids = ids.ToArray(), takenUntil },
            cancellationToken: cancellationToken));
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
        return (await connection.QueryAsync<long>(new CommandDefinition(ExpireSql,
            new { now, limit, expiredCode = FailurePolicy.ExpiredCode, expiredDescription = FailurePolicy.ExpiredDescription },
            cancellationToken: cancellationToken))).Count();
    }
}

/// <summary>What waits: messages not accepted by the provider yet, and status events not delivered to agencies yet.</summary>
public readonly record struct Backlogs(long Unsent, DateTime? OldestUnsent, long Callbacks, DateTime? OldestCallback);
