using Dapper;
using Npgsql;

namespace GovSg.Dispatcher.Callbacks;

/// <summary>
/// The delivery worker's reads and writes of status events and endpoint health. A claim moves the event's
/// next_attempt_at past the attempt's timeout (its lease) under FOR UPDATE SKIP LOCKED, so Dispatchers share the events
/// without two delivering one at once. Claims honour each user's cap on deliveries under way in this Dispatcher, skip
/// paused endpoints, and take a single event (a probe) from an endpoint that has been failing; when there are fewer slots
/// than such events, the longest due go first, whichever users they belong to. An event created at or
/// before @givenUpBefore (past the retry budget) is never claimed: <see cref="GiveUpAsync"/> deletes it, paused or not.
/// </summary>
public sealed class CallbackStore(NpgsqlDataSource dataSource)
{
    // status_events is a queue: every event is inserted, claimed (a new version, the lease being indexed) and deleted
    // within seconds, so between two vacuums most of a user's index entries point at dead versions. The planner sees the
    // few live rows, and for a user's due events it often chose a bitmap heap scan, which reads every version the index
    // points at: a median of 550–900 pages a statement at 70 messages a second, against about 85 in index order. An index
    // scan in next_attempt_at order stops at the first rows it needs, and marks the dead entries it passes, so that the
    // next scan skips them. SET LOCAL holds for the statement's own implicit transaction only.
    private const string IndexScansOnly = "SET LOCAL enable_bitmapscan = off;";

    private const string ClaimSql = $"""
        {IndexScansOnly}
        WITH busy AS (
            SELECT * FROM unnest(@busyUsers, @busyCounts) AS b(user_id, in_flight)
        ), candidates AS (
            SELECT e.id
            FROM callback_settings s
            LEFT JOIN busy b ON b.user_id = s.user_id
            CROSS JOIN LATERAL (
                SELECT id, next_attempt_at FROM status_events e
                WHERE e.user_id = s.user_id AND e.next_attempt_at <= @now AND e.created_at > @givenUpBefore
                  AND e.id > s.discard_through
                ORDER BY e.next_attempt_at
                LIMIT GREATEST(0, CASE WHEN s.consecutive_failures >= @failureThreshold THEN 1 ELSE @perUser END
                                  - COALESCE(b.in_flight, 0))) e
            WHERE s.url IS NOT NULL AND (s.paused_until IS NULL OR s.paused_until <= @now)
            ORDER BY e.next_attempt_at
            LIMIT @limit
        ), claimable AS (
            -- Only the chosen are locked (choosing reads every user's due events); one another claim took meanwhile is
            -- locked by it, or no longer due once it committed.
            SELECT id FROM status_events
            WHERE id IN (SELECT id FROM candidates) AND next_attempt_at <= @now
            FOR UPDATE SKIP LOCKED
        )
        UPDATE status_events e SET next_attempt_at = @leaseUntil
        FROM claimable c, callback_settings s
        WHERE e.id = c.id AND s.user_id = e.user_id
        RETURNING e.id, e.user_id, e.key_type, e.data::text AS data, e.attempts, e.created_at, s.url,
                  e.next_attempt_at AS lease_until
        """;

    // Newest first: the current secret, then a rotated one still in its overlap.
    private const string SecretsSql = """
        SELECT user_id, secret FROM callback_secrets
        WHERE user_id = ANY(@userIds) AND (valid_until IS NULL OR valid_until > @now)
        ORDER BY user_id, created_at DESC
        """;

    // When the worker next has something to do, leaving out users with as many deliveries under way as a claim would
    // give them (a finishing delivery wakes the worker), so it never spins on events it may not take yet.
    private const string NextDueSql = $"""
        {IndexScansOnly}
        WITH busy AS (
            SELECT * FROM unnest(@busyUsers, @busyCounts) AS b(user_id, in_flight)
        )
        SELECT min(GREATEST(d.due, s.paused_until))
        FROM callback_settings s
        LEFT JOIN busy b ON b.user_id = s.user_id
        CROSS JOIN LATERAL (SELECT e.next_attempt_at AS due FROM status_events e
                            WHERE e.user_id = s.user_id AND e.created_at > @givenUpBefore
                              AND e.id > s.discard_through
                            ORDER BY e.next_attempt_at LIMIT 1) d
        WHERE s.url IS NOT NULL
          AND COALESCE(b.in_flight, 0) < CASE WHEN s.consecutive_failures >= @failureThreshold THEN 1 ELSE @perUser END
        """;

    /// <summary>
    /// How stale <c>last_success_at</c> may be while deliveries succeed. Written on every delivery, the user's one settings
    /// row was locked by each until its commit, so one agency's deliveries went through the database one at a time (an
    /// outside soak: 450–520 a second at best, fewer than its 70 messages a second make). Its row is written only when
    /// there is news: the first success this long after the last, or the end of a run of failures or a pause.
    /// </summary>
    internal static readonly TimeSpan LastSuccessResolution = TimeSpan.FromSeconds(1);

    // Deliveries are recorded in batches (CallbackWorker): one statement for what the worker saw succeed since its last
    // batch, not one commit per event. Each user's success is news only as above, and only while the URL is the one
    // called (a success of the URL the agency has since replaced says nothing of the new one: it neither ends its run of
    // failures nor its pause). A batch is written a moment after its successes: a failure counted in that moment came
    // after the success, and stays in the run (as its only failure: one round of attempts at most fits in that moment).
    // A row the guard leaves out is not locked, so deliveries of one user only wait on each other once a second. Rows are
    // locked in one order, settings by user before events by id, as a URL change and a give-up's record lock them: no
    // two of them wait on each other in turn. (A discard deletes events in its plan's order; should it and a batch
    // deadlock on an event delivered after the discard, one of the two ends with an error and is retried: both are the
    // workers' own.)
    private const string DeliveredSql = """
        WITH d AS (
            SELECT * FROM unnest(@userIds, @urls, @succeededAts) AS d(user_id, url, succeeded_at)
        ), news AS (
            SELECT s.user_id, d.succeeded_at FROM callback_settings s JOIN d ON d.user_id = s.user_id AND d.url = s.url
            WHERE (s.last_success_at IS NULL OR s.last_success_at <= d.succeeded_at - @resolution
                   OR s.consecutive_failures > 0 OR s.paused_until IS NOT NULL)
            ORDER BY s.user_id
            FOR UPDATE OF s
        )
        UPDATE callback_settings s
        SET last_success_at = GREATEST(s.last_success_at, n.succeeded_at), paused_until = NULL,
            consecutive_failures = CASE WHEN s.failure_counted_at > n.succeeded_at THEN LEAST(s.consecutive_failures, 1) ELSE 0 END
        FROM news n
        WHERE s.user_id = n.user_id;
        DELETE FROM status_events WHERE id IN (SELECT id FROM status_events WHERE id = ANY(@ids) ORDER BY id FOR UPDATE);
        """;

    // Only while the claim's lease is the event's: once it lapsed and another Dispatcher claimed the event, a late retry
    // would make it due during that delivery and let a third claim deliver it at the same time; once a new URL made it due
    // again (CallbackSettingsStore), the old URL's failure must not drop it nor put it off. A failure counts against the
    // endpoint only then, and only while the URL is still the one called: a new URL starts with a clean bill of health.
    // A delivery deletes the event whoever holds it: it was delivered.
    // The settings row is locked before the event's, as everywhere (a URL change locks both in that order): the event's
    // write is a CTE the main statement does not read, which PostgreSQL runs after it, so the main statement asks after
    // the lease with a plain read of its own.
    private const string HoldsLease = "EXISTS (SELECT 1 FROM status_events WHERE id = @id AND next_attempt_at = @leaseUntil)";

    // Attempts that fail together (up to the per-user cap on each Dispatcher) are one failure of the endpoint, not one
    // each: only an attempt made after the last counted failure was recorded adds to the run, so a busy endpoint that
    // keeps failing counts about one failure per round of attempts. Counted one each, a few seconds of trouble would make
    // a long run and pause the endpoint for up to an hour; measured from the last failure of any attempt, a busy endpoint
    // would never count a second one, as some other attempt's failure is always recorded while one is under way.
    // (SET reads the row as it was before.)
    private const string Counts = "(failure_counted_at IS NULL OR failure_counted_at < @attemptedAt)";

    // The run after an attempt that failed when endpointFailed holds, and ended the run when it does not.
    private static string RunAfter(string endpointFailed) => $"""
        consecutive_failures = CASE WHEN {endpointFailed} THEN consecutive_failures + CASE WHEN {Counts} THEN 1 ELSE 0 END
                               ELSE 0 END,
            failure_counted_at = CASE WHEN {endpointFailed} AND {Counts} THEN @now ELSE failure_counted_at END
        """;

    private static readonly string RetrySql = $"""
        WITH retried AS (UPDATE status_events SET attempts = attempts + 1, next_attempt_at = @retryAt
                         WHERE id = @id AND next_attempt_at = @leaseUntil)
        UPDATE callback_settings SET last_failure_at = @now, last_failure_reason = @reason, {RunAfter("true")}
        WHERE user_id = @userId AND url = @url AND {HoldsLease}
        RETURNING consecutive_failures
        """;

    // An endpoint that answered (a 4xx the event is dropped for) is up: its run of failures ends, and so does its pause.
    private static readonly string DropSql = $"""
        WITH dropped AS (DELETE FROM status_events WHERE id = @id AND next_attempt_at = @leaseUntil)
        UPDATE callback_settings SET last_failure_at = @now, last_failure_reason = @reason, {RunAfter("@endpointFailed")},
            paused_until = CASE WHEN @endpointFailed THEN paused_until END
        WHERE user_id = @userId AND url = @url AND {HoldsLease}
        RETURNING consecutive_failures
        """;

    // Oldest first, a bounded number at a time. Only due events: one under delivery holds its lease in next_attempt_at
    // (a claim takes none past the budget, so a lease ends within a lease of it), and its attempt's outcome decides it;
    // once the lease lapses (its Dispatcher died) it is due and given up here. Discarded events that outlived their
    // discard (recorded by a status change that committed after the workers had deleted the rest) go too, uncounted:
    // they were not given up, they were never to be delivered.
    private const string GiveUpSql = """
        WITH expired AS (
            DELETE FROM status_events WHERE id IN (
                SELECT id FROM status_events WHERE created_at <= @givenUpBefore AND next_attempt_at <= @now
                ORDER BY created_at LIMIT @limit FOR UPDATE SKIP LOCKED)
            RETURNING user_id, id
        )
        SELECT x.user_id, count(*)::int AS count
        FROM expired x JOIN callback_settings s ON s.user_id = x.user_id AND x.id > s.discard_through
        GROUP BY x.user_id
        """;

    // One user's discarded events (CallbackSettingsStore), a bounded number at a time in id order, from after the last
    // one this worker deleted for that user (@afterUser, @after): a batch that started again from the user's first
    // event would read past every entry the batches before it left dead, and a million events would take minutes. The
    // user is done once fewer are left, unless a later discard came meanwhile. One worker at a time deletes a user's
    // events (every Dispatcher hears the discard at once): a second one's batch would pick the same rows, find them gone
    // once the first committed, and take the user for done with millions left.
    private const string DiscardSql = """
        WITH pending AS (
            SELECT user_id, discard_through FROM callback_settings WHERE discard_pending ORDER BY user_id LIMIT 1
            FOR UPDATE SKIP LOCKED
        ), gone AS (
            DELETE FROM status_events WHERE id IN (
                SELECT e.id FROM pending p
                CROSS JOIN LATERAL (SELECT id FROM status_events e
                                    WHERE e.user_id = p.user_id AND e.id <= p.discard_through
                                      AND e.id > CASE WHEN p.user_id = @afterUser THEN @after ELSE 0 END
                                    ORDER BY e.id LIMIT @limit) e)
            RETURNING id
        )
        SELECT p.user_id, p.discard_through, (SELECT count(*) FROM gone)::int AS deleted,
               COALESCE((SELECT max(id) FROM gone), 0) AS last
        FROM pending p
        """;

    private const string DiscardedSql = """
        UPDATE callback_settings SET discard_pending = false WHERE user_id = @userId AND discard_through = @through
        """;

    // Each user whose events were given up is told why in the settings' last failure (GET /v1/callback-settings). A
    // statement of its own, after the delete committed: a URL change locks the settings row, then the events, so one
    // statement locking both the other way round could deadlock with it. The rows are locked by user, as a batch of
    // deliveries locks them.
    private const string ToldGivenUpSql = """
        UPDATE callback_settings s SET last_failure_at = @now,
            last_failure_reason = g.count || ' event(s) not delivered within ' || @budget || ': given up'
        FROM unnest(@userIds, @counts) AS g(user_id, count)
        WHERE s.user_id = g.user_id
          AND s.user_id IN (SELECT user_id FROM callback_settings WHERE user_id = ANY(@userIds) ORDER BY user_id FOR UPDATE)
        """;

    // Only while the run that earned the pause stands: a success elsewhere (which ends the run) or a new URL (a clean bill
    // of health) between the failure's record and this must not pause an endpoint that answers, for up to an hour.
    private const string PauseSql = """
        UPDATE callback_settings SET paused_until = GREATEST(paused_until, @until)
        WHERE user_id = @userId AND url = @url AND consecutive_failures >= @failures
        RETURNING paused_until
        """;

    public async Task<IReadOnlyList<ClaimedEvent>> ClaimAsync(IReadOnlyDictionary<long, int> inFlight, DateTime now,
        DateTime givenUpBefore, DateTime leaseUntil, int perUser, int failureThreshold, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<ClaimedEvent>(new CommandDefinition(ClaimSql, new
        {
            busyUsers = inFlight.Keys.ToArray(),
            busyCounts = inFlight.Values.ToArray(),
            now,
            givenUpBefore,
            leaseUntil,
            perUser,
            failureThreshold,
            limit,
        }, cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>Each user's valid signing secrets, newest first.</summary>
    public async Task<ILookup<long, string>> SecretsAsync(IEnumerable<long> userIds, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long UserId, string Secret)>(new CommandDefinition(SecretsSql,
            new { userIds = userIds.Distinct().ToArray(), now }, cancellationToken: cancellationToken));
        return rows.ToLookup(r => r.UserId, r => r.Secret);
    }

    public async Task<DateTime?> NextDueAsync(IReadOnlyDictionary<long, int> inFlight, DateTime givenUpBefore, int perUser,
        int failureThreshold, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(NextDueSql, new
        {
            busyUsers = inFlight.Keys.ToArray(),
            busyCounts = inFlight.Values.ToArray(),
            givenUpBefore,
            perUser,
            failureThreshold,
        }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Deletes the delivered events, and records on each user's settings the latest of its successes (each with the time
    /// its attempt ended) where it is news.
    /// </summary>
    public async Task DeliveredAsync(IReadOnlyCollection<(ClaimedEvent Event, DateTime SucceededAt)> delivered,
        CancellationToken cancellationToken)
    {
        var latest = delivered.GroupBy(d => (d.Event.UserId, d.Event.Url), d => d.SucceededAt)
            .Select(g => (g.Key.UserId, g.Key.Url, SucceededAt: g.Max())).ToList();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(DeliveredSql, new
        {
            ids = delivered.Select(d => d.Event.Id).ToArray(),
            userIds = latest.Select(l => l.UserId).ToArray(),
            urls = latest.Select(l => l.Url).ToArray(),
            succeededAts = latest.Select(l => l.SucceededAt).ToArray(),
            resolution = LastSuccessResolution,
        }, cancellationToken: cancellationToken));
    }

    /// <summary>Schedules the next attempt and counts the endpoint's failure; returns its failures in a row.</summary>
    public async Task<int> RetryAsync(ClaimedEvent claimed, DateTime attemptedAt, DateTime retryAt, string reason, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(RetrySql,
            new { id = claimed.Id, userId = claimed.UserId, url = claimed.Url, leaseUntil = claimed.LeaseUntil, attemptedAt, retryAt, reason, now },
            cancellationToken: cancellationToken));
    }

    /// <summary>Discards the event and records why; returns the endpoint's failures in a row.</summary>
    public async Task<int> DropAsync(ClaimedEvent claimed, DateTime attemptedAt, string reason, bool endpointFailed, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(DropSql,
            new
            {
                id = claimed.Id,
                userId = claimed.UserId,
                url = claimed.Url,
                leaseUntil = claimed.LeaseUntil,
                attemptedAt,
                reason,
                endpointFailed,
                now,
            },
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Deletes up to <paramref name="limit"/> due events created at or before <paramref name="givenUpBefore"/>, recording
    /// on each user's settings how many were given up within <paramref name="budget"/>; returns how many.
    /// </summary>
    public async Task<int> GiveUpAsync(DateTime givenUpBefore, string budget, int limit, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var given = (await connection.QueryAsync<(long UserId, int Count)>(new CommandDefinition(GiveUpSql,
            new { givenUpBefore, limit, now }, cancellationToken: cancellationToken))).ToList();
        if (given.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(ToldGivenUpSql, new
            {
                userIds = given.Select(g => g.UserId).ToArray(),
                counts = given.Select(g => g.Count).ToArray(),
                budget,
                now,
            }, cancellationToken: cancellationToken));
        }

        return given.Sum(g => g.Count);
    }

    /// <summary>
    /// Deletes up to <paramref name="limit"/> discarded events of one user who has some, after <paramref name="after"/>
    /// (the last one deleted, of that user); returns that user and the last id it deleted, or null when no user has any
    /// left.
    /// </summary>
    public async Task<(long UserId, long Last)?> DeleteDiscardedAsync((long UserId, long Last) after, int limit,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var round = await connection.QuerySingleOrDefaultAsync<(long UserId, long Through, int Deleted, long Last)?>(
            new CommandDefinition(DiscardSql, new { afterUser = after.UserId, after = after.Last, limit },
                cancellationToken: cancellationToken));
        if (round is not { } deleted)
        {
            return null;
        }

        if (deleted.Deleted < limit)
        {
            await connection.ExecuteAsync(new CommandDefinition(DiscardedSql,
                new { userId = deleted.UserId, through = deleted.Through }, cancellationToken: cancellationToken));
        }

        return (deleted.UserId, deleted.Last);
    }

    /// <summary>
    /// Pauses the endpoint until at least <paramref name="until"/> while its run of <paramref name="failures"/> stands;
    /// returns the pause as stored (a longer one stands), or null when the run ended or the URL changed meanwhile.
    /// </summary>
    public async Task<DateTime?> PauseAsync(ClaimedEvent claimed, int failures, DateTime until, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(PauseSql,
            new { userId = claimed.UserId, url = claimed.Url, failures, until }, cancellationToken: cancellationToken));
    }
}
