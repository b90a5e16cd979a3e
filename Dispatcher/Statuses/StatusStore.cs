using Dapper;
using GovSg.Callbacks;
using GovSg.Contracts;
using GovSg.Dispatcher.Sending;
using Npgsql;

namespace GovSg.Dispatcher.Statuses;

/// <summary>
/// Applies provider statuses with the rules of SPEC §4, entirely inside one guarded UPDATE per round: statuses only
/// move forward (the enum is declared in lifecycle order, with ERROR last so it is never left); ERROR replaces
/// UNSENT/ACCEPTED/SENT but never DELIVERED/READ (a late <c>failed</c> is ignored outright); each event fills its own
/// timestamp column once, even when the status does not move, with the provider's time clamped so timestamps never go
/// backwards (between the latest earlier and the earliest later timestamp) and never lie ahead of the time the status
/// is applied (a provider's clock, or a forged body signed with a leaked secret, cannot date a read in the future);
/// rows that would not change are not touched, so <c>updated_at</c> moves only with a real change, and then by at least
/// a millisecond: the rounds of one batch share its time, and each state of a message a callback or a read shows has
/// its own <c>updated_at</c> (SPEC §4, §11.1). A status for a provider id we have not recorded, whose opaque data names
/// a message still UNSENT on that attempt (or on a later one with no call open), adopts it first (SPEC §5): Meta only
/// reports on what it sent, so that call was accepted, whether or not its answer reached us. One whose opaque data
/// names a message that has left UNSENT since (sent again and accepted under another id, or ended in ERROR) is applied
/// to it by id, a failure excepted (SPEC §5). These statements record their status events themselves (SPEC §4): the
/// rows whose status moved to the reported one, never a row that only gained a timestamp (a message's status never
/// equals a reported status it did not just take, since the status's own timestamp is set with it and its guard then no
/// longer matches).
/// </summary>
public sealed class StatusStore(NpgsqlDataSource dataSource)
{
    // Each event moves its message as SPEC §4 says; the two statements below differ only in how an event finds its
    // message (`match`, by the provider's id or by the opaque data's message id and attempt) and what comes back.
    private static string ApplySql(bool byMessageId, string match, string result) => $"""
        WITH e AS (
            SELECT provider_message_id, status, LEAST(occurred_at, @now) AS occurred_at, error_code, error_description
                   {(byMessageId ? ", message_id, attempt" : "")}
            FROM unnest(@ids, @statuses::message_status[], @occurred, @codes, @descriptions
                        {(byMessageId ? ", @messageIds, @attempts" : "")})
                AS u(provider_message_id, status, occurred_at, error_code, error_description
                     {(byMessageId ? ", message_id, attempt" : "")})
        ), applied AS (
            UPDATE messages m SET
                status = CASE
                    WHEN e.status = 'ERROR' THEN CASE WHEN m.status < 'DELIVERED' THEN 'ERROR'::message_status ELSE m.status END
                    WHEN m.status < e.status THEN e.status
                    ELSE m.status END,
                sent_at = CASE WHEN e.status = 'SENT' THEN COALESCE(m.sent_at,
                    GREATEST(m.accepted_at, LEAST(e.occurred_at, m.delivered_at, m.read_at))) ELSE m.sent_at END,
                delivered_at = CASE WHEN e.status = 'DELIVERED' THEN COALESCE(m.delivered_at,
                    GREATEST(m.accepted_at, m.sent_at, LEAST(e.occurred_at, m.read_at))) ELSE m.delivered_at END,
                read_at = CASE WHEN e.status = 'READ' THEN COALESCE(m.read_at,
                    GREATEST(m.accepted_at, m.sent_at, m.delivered_at, e.occurred_at)) ELSE m.read_at END,
                errored_at = CASE WHEN e.status = 'ERROR' AND m.status < 'DELIVERED'
                    THEN GREATEST(m.accepted_at, e.occurred_at) ELSE m.errored_at END,
                error_code = CASE WHEN e.status = 'ERROR' AND m.status < 'DELIVERED' THEN e.error_code ELSE m.error_code END,
                error_description = CASE WHEN e.status = 'ERROR' AND m.status < 'DELIVERED' THEN e.error_description
                                         ELSE m.error_description END,
                updated_at = {StatusEventSql.ChangedAt}
            FROM e
            WHERE {match}
              AND (   (e.status = 'ERROR' AND m.status < 'DELIVERED')
                   OR (e.status <> 'ERROR' AND m.status < e.status)
                   OR (e.status = 'SENT' AND m.sent_at IS NULL)
                   OR (e.status = 'DELIVERED' AND m.delivered_at IS NULL)
                   OR (e.status = 'READ' AND m.read_at IS NULL))
            RETURNING m, e.status AS reported
        ), changed AS (
            SELECT a.m FROM applied a WHERE (a.m).status = a.reported
        ), {StatusEventSql.RecordChanged}
        {result}
        """;

    // By the provider's id: the usual case.
    private static readonly string ApplyByProviderIdSql = ApplySql(false, "m.provider_message_id = e.provider_message_id", """
        SELECT e.provider_message_id AS "Unknown", NULL::text AS "SendTrace"
        FROM e
        WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.provider_message_id = e.provider_message_id)
        UNION ALL
        SELECT NULL, m.send_trace
        FROM messages m
        WHERE @sendTraces AND m.provider_message_id IN (SELECT provider_message_id FROM e) AND m.send_trace IS NOT NULL
        """);

    // By the message its opaque data names, once that message has left UNSENT without this call's id (SPEC §5): it was
    // re-sent and accepted under another id, or it ended in ERROR while the call's outcome was unknown. The call was
    // sent, so its sent, delivered and read move the message on (or, on an ERROR, fill their timestamps). Its failure is
    // not applied: it says nothing of the call the message was accepted by. Such an event is done with either way; only
    // one naming no message that left UNSENT on that attempt or later comes back, to wait parked.
    private const string NamesMessage = "m.id = e.message_id AND m.status <> 'UNSENT' AND m.attempts >= e.attempt";

    private static readonly string ApplyByMessageIdSql = ApplySql(true, $"{NamesMessage} AND e.status <> 'ERROR'", $"""
        SELECT e.provider_message_id AS "Unknown", NULL::text AS "SendTrace"
        FROM e
        WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE {NamesMessage})
        """);

    // Guarded on the attempt, like the hold and the re-claim that ends it, so exactly one of the three wins. A status
    // that shows an earlier attempt was sent (anything but failed) adopts too while no call is open: a later attempt
    // that was not sent (handed back uncalled, or refused by the provider) must not make the next claim send it again.
    // While a call is open the status waits parked, and adopts once that call's outcome is recorded unless the call was
    // accepted. An earlier attempt that failed says nothing of the later ones, and never ends the message.
    // Of the calls that may adopt a message, the one chosen is the latest reported as sent, or else the latest: the
    // UPDATE joins each row to one of them.
    // Accepted at the call's time, when the provider took it; for an earlier attempt, at the last claim's time, the
    // nearest time kept (a little late: the statuses' own times are clamped to it, SPEC §4).
    private const string MayAdopt =
        "m.status = 'UNSENT' AND (m.attempts = a.attempt OR (m.attempts > a.attempt AND NOT m.call_open AND a.sent))";

    private const string AdoptSql = $"""
        WITH chosen AS (
            SELECT DISTINCT ON (a.message_id) a.*
            FROM unnest(@messageIds, @attempts, @ids, @sent) AS a(message_id, attempt, provider_message_id, sent)
            JOIN messages m ON m.id = a.message_id
            WHERE {MayAdopt}
            ORDER BY a.message_id, a.sent DESC, a.attempt DESC
        ), changed AS (
            UPDATE messages m SET
                status = 'ACCEPTED', accepted_at = GREATEST(COALESCE(m.attempted_at, @now), m.created_at),
                updated_at = {StatusEventSql.ChangedAt}, provider_message_id = a.provider_message_id, last_error = NULL,
                call_open = false
            FROM chosen a
            WHERE m.id = a.message_id AND {MayAdopt}
            RETURNING m
        ), {StatusEventSql.RecordChanged}
        SELECT (c.m).provider_message_id FROM changed c
        """;

    private const string AddPendingSql = """
        INSERT INTO pending_status_events (provider_message_id, status, occurred_at, error_code, error_description,
                                           received_at, attempts, next_attempt_at, message_id, attempt)
        SELECT * FROM unnest(@ids, @statuses::message_status[], @occurred, @codes, @descriptions, @received,
                             @attempts, @nextAttempt, @messageIds, @callAttempts)
        """;

    private const string PendingColumns = """
        id, provider_message_id, status::text AS status, occurred_at, error_code, error_description, received_at, attempts,
        message_id, attempt
        """;

    // The due rows, or only the one named (a batch the database refused is tried again one row at a time).
    private const string TakeDuePendingSql = $"""
        DELETE FROM pending_status_events
        WHERE id IN (SELECT id FROM pending_status_events WHERE next_attempt_at <= @now AND (@only IS NULL OR id = @only)
                     ORDER BY next_attempt_at LIMIT @limit FOR UPDATE SKIP LOCKED)
        RETURNING {PendingColumns}
        """;

    private const string DuePendingSql = """
        SELECT id FROM pending_status_events WHERE next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit
        """;

    private const string DropPendingSql = $"DELETE FROM pending_status_events WHERE id = @id RETURNING {PendingColumns}";

    /// <summary>
    /// Applies the events; those whose provider id is not recorded yet (the webhook overtook the ACCEPTED write) are
    /// parked for <see cref="RetryPendingAsync"/>. Returns how many were parked, how many messages were adopted, and,
    /// when <paramref name="withSendTraces"/>, the send traces (<see cref="Sending.SendTrace"/>) of the calls the events
    /// report on, read by the statements that apply them.
    /// </summary>
    public async Task<(int Parked, int Adopted, IReadOnlyList<string> SendTraces)> ApplyAsync(IReadOnlyList<StatusEvent> events,
        DateTime now, TimeSpan firstRetry, bool withSendTraces, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var sendTraces = withSendTraces ? new List<string>() : null;
        // The usual batch, one event per message, is one statement and needs no transaction: a status change records its
        // events in the same statement, and a batch that fails later is retried whole, re-applying nothing. What more a
        // batch needs (rounds, adoptions, parking) runs in one transaction, so no one sees a message adopted without
        // the status that adopted it.
        var oneEach = events.DistinctBy(e => e.ProviderMessageId, StringComparer.Ordinal).Count() == events.Count;
        var unknown = oneEach ? await ApplyRoundsAsync(connection, null, events, byMessageId: false, now, sendTraces, cancellationToken) : null;
        if (unknown is { Count: 0 })
        {
            return (0, 0, sendTraces ?? []);
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (still, adopted) = unknown is null
            ? await ApplyOrAdoptAsync(connection, transaction, events, now, sendTraces, cancellationToken)
            : await AdoptAsync(connection, transaction, unknown, now, sendTraces, cancellationToken);
        await ParkAsync(connection, transaction, still.Select(e => new PendingStatus(e, now, 0)).ToList(), now + firstRetry,
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (still.Count, adopted, sendTraces ?? []);
    }

    /// <summary>
    /// Tries the parked events that are due again. Those still unknown after <paramref name="maxAge"/> are dropped and
    /// returned, so the caller can warn and count them; the rest are parked again with a longer wait.
    /// </summary>
    public Task<(int Retried, int Adopted, IReadOnlyList<StatusEvent> Dropped)> RetryPendingAsync(DateTime now,
        TimeSpan maxAge, int limit, CancellationToken cancellationToken) =>
        RetryPendingAsync(null, now, maxAge, limit, cancellationToken);

    /// <summary>As the other overload, for the one parked event <paramref name="id"/> when it is due.</summary>
    public Task<(int Retried, int Adopted, IReadOnlyList<StatusEvent> Dropped)> RetryPendingAsync(long id, DateTime now,
        TimeSpan maxAge, CancellationToken cancellationToken) =>
        RetryPendingAsync(id, now, maxAge, 1, cancellationToken);

    /// <summary>The ids of the parked events that are due, the earliest first.</summary>
    public async Task<IReadOnlyList<long>> DuePendingAsync(DateTime now, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<long>(new CommandDefinition(DuePendingSql, new { now, limit },
            cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>Removes the parked event <paramref name="id"/>; returns it, or null when it is gone already.</summary>
    public async Task<StatusEvent?> DropPendingAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QuerySingleOrDefaultAsync<PendingRow>(new CommandDefinition(DropPendingSql, new { id },
            cancellationToken: cancellationToken)))?.ToEvent();
    }

    private async Task<(int Retried, int Adopted, IReadOnlyList<StatusEvent> Dropped)> RetryPendingAsync(long? only,
        DateTime now, TimeSpan maxAge, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var due = (await connection.QueryAsync<PendingRow>(new CommandDefinition(TakeDuePendingSql, new { now, limit, only },
            transaction, cancellationToken: cancellationToken))).OrderBy(r => r.Id).ToList();
        if (due.Count == 0)
        {
            return (0, 0, []);
        }

        var (stillUnknown, adopted) = await ApplyOrAdoptAsync(connection, transaction, due.Select(r => r.ToEvent()).ToList(),
            now, null, cancellationToken);
        var unknown = stillUnknown.ToHashSet(ReferenceEqualityComparer.Instance);
        var still = due.Where(r => unknown.Contains(r.ToEvent())).ToList();
        var dropped = still.Where(r => r.ReceivedAt <= now - maxAge).ToList();
        var keep = still.Except(dropped).Select(r => new PendingStatus(r.ToEvent(), r.ReceivedAt, r.Attempts + 1)).ToList();
        foreach (var group in keep.GroupBy(p => p.Attempts))
        {
            // 1 s, 2 s, 4 s ... capped at 30 s: quick for the usual sub-second overtaking, cheap for the rare long wait.
            var wait = Backoff.Exponential(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), group.Key);
            await ParkAsync(connection, transaction, group.ToList(), now + wait, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (due.Count, adopted, dropped.Select(r => r.ToEvent()).ToList());
    }

    /// <summary>
    /// Applies the events by provider id; those whose id is unknown but whose opaque data names a message still UNSENT
    /// adopt it (<see cref="AdoptSql"/> says when), and then take their status like any other. Returns the events still unknown; the send
    /// traces of the calls they report on are added to <paramref name="sendTraces"/>, when given.
    /// </summary>
    private static async Task<(List<StatusEvent> Unknown, int Adopted)> ApplyOrAdoptAsync(NpgsqlConnection connection,
        NpgsqlTransaction transaction, IReadOnlyList<StatusEvent> events, DateTime now, List<string>? sendTraces,
        CancellationToken cancellationToken)
    {
        var unknown = await ApplyRoundsAsync(connection, transaction, events, byMessageId: false, now, sendTraces, cancellationToken);
        return await AdoptAsync(connection, transaction, unknown, now, sendTraces, cancellationToken);
    }

    /// <summary>
    /// Adopts the messages that the <paramref name="unknown"/> events' opaque data names, when still UNSENT (see
    /// <see cref="AdoptSql"/>), and applies those events to them; applies the others that name a message which has left
    /// UNSENT to it by its id (<see cref="ApplyByMessageIdSql"/>). Returns the events still unknown.
    /// </summary>
    private static async Task<(List<StatusEvent> Unknown, int Adopted)> AdoptAsync(NpgsqlConnection connection,
        NpgsqlTransaction transaction, List<StatusEvent> unknown, DateTime now, List<string>? sendTraces,
        CancellationToken cancellationToken)
    {
        var (still, adopted) = await AdoptUnsentAsync(connection, transaction, unknown, now, sendTraces, cancellationToken);
        return (await ApplyByMessageIdAsync(connection, transaction, still, now, cancellationToken), adopted);
    }

    private static async Task<(List<StatusEvent> Unknown, int Adopted)> AdoptUnsentAsync(NpgsqlConnection connection,
        NpgsqlTransaction transaction, List<StatusEvent> unknown, DateTime now, List<string>? sendTraces,
        CancellationToken cancellationToken)
    {
        // One candidate per call, with whether the provider reported it sent (AdoptSql chooses among a message's calls).
        // In message order, so concurrent batches lock rows alike.
        var candidates = unknown.Where(e => e.MessageId is not null)
            .GroupBy(e => e.ProviderMessageId, StringComparer.Ordinal)
            .Select(call => (Event: call.First(), Sent: call.Any(e => e.Status != MessageStatus.Error)))
            .OrderBy(call => call.Event.MessageId)
            .ToList();
        if (candidates.Count == 0)
        {
            return (unknown, 0);
        }

        var adopted = (await connection.QueryAsync<string>(new CommandDefinition(AdoptSql, new
        {
            messageIds = candidates.Select(c => c.Event.MessageId!.Value).ToArray(),
            attempts = candidates.Select(c => c.Event.Attempt!.Value).ToArray(),
            ids = candidates.Select(c => c.Event.ProviderMessageId).ToArray(),
            sent = candidates.Select(c => c.Sent).ToArray(),
            now,
        }, transaction, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
        if (adopted.Count == 0)
        {
            return (unknown, 0);
        }

        var applied = unknown.Where(e => adopted.Contains(e.ProviderMessageId)).ToList();
        var still = await ApplyRoundsAsync(connection, transaction, applied, byMessageId: false, now, sendTraces, cancellationToken);
        return ([.. unknown.Where(e => !adopted.Contains(e.ProviderMessageId)), .. still], adopted.Count);
    }

    /// <summary>
    /// Applies the events still unknown whose opaque data names a message that has left UNSENT (<see cref="ApplyByMessageIdSql"/>);
    /// returns those that remain unknown.
    /// </summary>
    private static async Task<List<StatusEvent>> ApplyByMessageIdAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        List<StatusEvent> unknown, DateTime now, CancellationToken cancellationToken)
    {
        var named = unknown.Where(e => e.MessageId is not null).ToList();
        if (named.Count == 0)
        {
            return unknown;
        }

        var still = await ApplyRoundsAsync(connection, transaction, named, byMessageId: true, now, null, cancellationToken);
        return [.. unknown.Where(e => e.MessageId is null), .. still];
    }

    /// <summary>
    /// Applies the events in rounds, by the provider's id (<see cref="ApplyByProviderIdSql"/>), or else by the message id
    /// their opaque data names (<see cref="ApplyByMessageIdSql"/>); returns those that found no message.
    /// </summary>
    private static async Task<List<StatusEvent>> ApplyRoundsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        IReadOnlyList<StatusEvent> events, bool byMessageId, DateTime now, List<string>? sendTraces,
        CancellationToken cancellationToken)
    {
        var unknown = new List<StatusEvent>();
        var rounds = byMessageId
            ? Rounds(events, e => e.MessageId!.Value, Comparer<long>.Default)
            : Rounds(events, e => e.ProviderMessageId, StringComparer.Ordinal);
        foreach (var round in rounds)
        {
            var rows = (await connection.QueryAsync<AppliedRow>(new CommandDefinition(byMessageId ? ApplyByMessageIdSql : ApplyByProviderIdSql, new
            {
                ids = round.Select(e => e.ProviderMessageId).ToArray(),
                statuses = round.Select(e => e.Status).ToArray(),
                occurred = round.Select(e => e.OccurredAt).ToArray(),
                codes = round.Select(e => e.ErrorCode).ToArray(),
                descriptions = round.Select(e => e.ErrorDescription).ToArray(),
                messageIds = byMessageId ? round.Select(e => e.MessageId).ToArray() : null,
                attempts = byMessageId ? round.Select(e => e.Attempt).ToArray() : null,
                now,
                sendTraces = sendTraces is not null,
            }, transaction, cancellationToken: cancellationToken))).ToList();
            var missing = rows.Select(r => r.Unknown).OfType<string>().ToHashSet(StringComparer.Ordinal);
            unknown.AddRange(round.Where(e => missing.Contains(e.ProviderMessageId)));
            sendTraces?.AddRange(rows.Select(r => r.SendTrace).OfType<string>());
        }

        return unknown;
    }

    /// <summary>A row of <see cref="ApplySql"/>: a provider id not recorded yet, or the send trace of a call reported on.</summary>
    private sealed record AppliedRow(string? Unknown, string? SendTrace);

    private static async Task ParkAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<PendingStatus> pending, DateTime nextAttempt, CancellationToken cancellationToken)
    {
        if (pending.Count == 0)
        {
            return;
        }

        await connection.ExecuteAsync(new CommandDefinition(AddPendingSql, new
        {
            ids = pending.Select(p => p.Event.ProviderMessageId).ToArray(),
            statuses = pending.Select(p => p.Event.Status).ToArray(),
            occurred = pending.Select(p => p.Event.OccurredAt).ToArray(),
            codes = pending.Select(p => p.Event.ErrorCode).ToArray(),
            descriptions = pending.Select(p => p.Event.ErrorDescription).ToArray(),
            received = pending.Select(p => p.ReceivedAt).ToArray(),
            attempts = pending.Select(p => p.Attempts).ToArray(),
            nextAttempt = pending.Select(_ => nextAttempt).ToArray(),
            messageIds = pending.Select(p => p.Event.MessageId).ToArray(),
            callAttempts = pending.Select(p => p.Event.Attempt).ToArray(),
        }, transaction, cancellationToken: cancellationToken));
    }

    private sealed record PendingStatus(StatusEvent Event, DateTime ReceivedAt, int Attempts);

    private sealed class PendingRow
    {
        private StatusEvent? _event;

        public long Id { get; init; }
        public string ProviderMessageId { get; init; } = "";
        public string Status { get; init; } = "";
        public DateTime OccurredAt { get; init; }
        public string? ErrorCode { get; init; }
        public string? ErrorDescription { get; init; }
        public DateTime ReceivedAt { get; init; }
        public int Attempts { get; init; }
        public long? MessageId { get; init; }
        public int? Attempt { get; init; }

        public StatusEvent ToEvent() => _event ??=
            new StatusEvent(ProviderMessageId, Status, OccurredAt, ErrorCode, ErrorDescription, MessageId, Attempt);
    }

    /// <summary>
    /// Round k holds the k-th event of every message (as <paramref name="key"/> finds it). Each round is sorted by that key
    /// so concurrent batches lock rows in the same order and cannot deadlock each other.
    /// </summary>
    private static IEnumerable<List<StatusEvent>> Rounds<TKey>(IReadOnlyList<StatusEvent> events, Func<StatusEvent, TKey> key,
        IComparer<TKey> order)
    {
        var byMessage = events.GroupBy(key).Select(g => g.ToList()).ToList();
        for (var k = 0; ; k++)
        {
            var round = byMessage.Where(g => g.Count > k).Select(g => g[k]).OrderBy(key, order).ToList();
            if (round.Count == 0)
            {
                yield break;
            }

            yield return round;
        }
    }
}
