using Dapper;
using GovSg.Callbacks;
using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>A claimed message: what the provider call needs, plus the retry bookkeeping.</summary>
public sealed record ClaimedMessage
{
    public long Id { get; init; }
    public long UserId { get; init; }
    public string Recipient { get; init; } = "";
    public string Params { get; init; } = "{}";
    public string LanguageCode { get; init; } = "";
    public string WhatsappTemplateName { get; init; } = "";
    public string[] ParamOrder { get; init; } = [];
    public int Attempts { get; init; }
    public DateTime FirstAttemptAt { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime ExpiresAt { get; init; }
    public string? LastError { get; init; }

    /// <summary>The type of key that sent it: a test message goes to the simulated provider (Dispatcher/TestKeys).</summary>
    public string KeyType { get; init; } = "";

    /// <summary>This claim ends a hold that nothing adopted: the provider may already have the previous attempt.</summary>
    public bool Resend { get; init; }

    /// <summary>When the last hold began: the time the previous attempt's outcome became unknown.</summary>
    public DateTime? HeldAt { get; init; }

    /// <summary>Until when no message may go to this recipient: a 131056 answered a call to it (SPEC §5).</summary>
    public DateTime? RecipientWaitUntil { get; init; }
}

/// <summary>
/// The send path's writes. Each is one guarded UPDATE that only acts on an UNSENT message, so redeliveries, duplicate
/// commands and concurrent dispatchers are decided by rows affected, never by a read followed by a write. Failures,
/// retries and deferrals also carry the attempt number of their claim: if the claim lapsed and the message was claimed
/// again, the stale outcome is dropped rather than overwriting the newer claim. An acceptance always counts. A claim
/// opens a call (<c>call_open</c>) that every outcome closes; a message whose call is open is never claimed again,
/// whatever its lease says: it is reconciled first (SPEC §5).
/// </summary>
public sealed class SendStore(NpgsqlDataSource dataSource, SweepSchedule sweeps, IOptions<RetryOptions> retry)
{
    private readonly TimeSpan _clockTolerance = retry.Value.ClockTolerance;

    // The claim: only one dispatcher at a time, only once due, never after expiry, never for a user an operator has
    // disabled (SPEC §7: a stolen key's messages stay unsent). A message never claimed is due from the moment it is
    // stored, whatever the Api's clock said; a retry, hand-back or hold is due by the clock of the dispatcher that
    // scheduled it, within the clock tolerance (RetryOptions.ClockTolerance). The lease (available_at and
    // sweep_at) makes the message due again if this dispatcher dies before recording an outcome; the sweeper then holds
    // it for reconciliation, as the call may have been made.
    private const string ClaimSql = """
        UPDATE messages SET
            available_at = @leaseUntil,
            sweep_at = @leaseUntil,
            attempts = attempts + 1,
            first_attempt_at = COALESCE(first_attempt_at, @now),
            attempted_at = @now,
            call_open = true
        WHERE id = ANY(@ids) AND status = 'UNSENT' AND (attempts = 0 OR available_at <= @dueBy) AND expires_at > @now
          AND NOT call_open
          AND (NOT @testOnly OR key_type = 'test')
          AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = messages.user_id AND u.disabled_at IS NOT NULL)
        RETURNING id, user_id, recipient, params::text AS params, language_code, whatsapp_template_name, param_order,
                  attempts, first_attempt_at, created_at, expires_at, last_error, key_type,
                  COALESCE(held_attempt = attempts - 1, false) AS resend, held_at,
                  (SELECT w.until FROM recipient_waits w WHERE w.recipient = messages.recipient AND w.until > @now)
                      AS recipient_wait_until
        """;

    // Acceptance and failure change the status, so each records its status events in the same statement (SPEC §4).
    private const string AcceptSql = $"""
        WITH changed AS (
            UPDATE messages m SET
                status = 'ACCEPTED', accepted_at = {StatusEventSql.ChangedAt}, updated_at = {StatusEventSql.ChangedAt}, provider_message_id = a.provider_message_id,
                last_error = NULL, call_open = false, send_trace = a.send_trace
            FROM unnest(@ids, @providerMessageIds, @sendTraces) AS a(id, provider_message_id, send_trace)
            WHERE m.id = a.id AND m.status = 'UNSENT'
            RETURNING m
        ), {StatusEventSql.RecordChanged}
        SELECT count(*) FROM changed
        """;

    private const string FailSql = $"""
        WITH changed AS (
            UPDATE messages m SET
                status = 'ERROR', errored_at = {StatusEventSql.ChangedAt}, updated_at = {StatusEventSql.ChangedAt}, error_code = @code,
                error_description = @description, call_open = false
            WHERE id = @id AND status = 'UNSENT' AND attempts = @attempts
            RETURNING m
        ), {StatusEventSql.RecordChanged}
        SELECT count(*) FROM changed
        """;

    private const string RetrySql = """
        UPDATE messages SET available_at = @retryAt, sweep_at = @retryAt, last_error = COALESCE(@lastError, last_error),
            call_open = false, held_attempt = NULL
        WHERE id = @id AND status = 'UNSENT' AND attempts = @attempts
        """;

    // The retry budget counts from the first attempt (SPEC §5), and an attempt that was not one (never called, or
    // called with credentials the provider rejected) does not start it: if this claim started it (its own time), the
    // next claim does. It is not restarted either: a message that was already retrying keeps its budget's start.
    private const string UncountedAttempt =
        "first_attempt_at = CASE WHEN first_attempt_at = attempted_at THEN NULL ELSE first_attempt_at END";

    // Claimed, never called (the dispatcher stopped, the slot came after the lease or the validity, or the recipient is
    // waited for): due again at once or when the wait ends (the sweep expires it if its validity is over). A re-send
    // after a hold stays one for the claim that takes it next, so that call is still counted and held to the budget.
    private const string HandBackSql = $"""
        UPDATE messages SET available_at = @dueAt, sweep_at = @dueAt, call_open = false, {UncountedAttempt},
            held_attempt = CASE WHEN held_attempt = attempts - 1 THEN attempts END
        WHERE id = @id AND status = 'UNSENT' AND attempts = @attempts
        """;

    // Credentials broken: kept until sending resumes, the attempt uncounted. A re-send after a hold that was not called
    // (sending was paused) stays one for the claim that takes it next, as a hand-back.
    private const string DeferSql = $"""
        UPDATE messages SET available_at = @resumeAt, sweep_at = @resumeAt, {UncountedAttempt}, last_error = @lastError,
            call_open = false, held_attempt = CASE WHEN NOT @called AND held_attempt = attempts - 1 THEN attempts END
        WHERE id = @id AND status = 'UNSENT' AND attempts = @attempts
        """;

    // The outcome is unknown: not claimable (nor expired, nor cancelled) until the hold ends. A status naming this
    // attempt adopts the message meanwhile (StatusStore), accepted at the attempt's time: the call's, when known; the
    // claim that ends an unadopted hold sees held_attempt.
    private const string HoldSql = """
        UPDATE messages SET available_at = @holdUntil, sweep_at = @holdUntil, last_error = @lastError,
            call_open = false, held_attempt = attempts, held_at = @now, attempted_at = COALESCE(@calledAt, attempted_at)
        WHERE id = @id AND status = 'UNSENT' AND attempts = @attempts
        """;

    private const string WaitForRecipientSql = """
        WITH ended AS (
            -- Rows another writer holds are left to it: waiting for them could deadlock two writers.
            DELETE FROM recipient_waits WHERE recipient IN (
                SELECT recipient FROM recipient_waits WHERE until <= @now AND recipient <> @recipient FOR UPDATE SKIP LOCKED))
        INSERT INTO recipient_waits (recipient, until) VALUES (@recipient, @until)
        ON CONFLICT (recipient) DO UPDATE SET until = GREATEST(recipient_waits.until, excluded.until)
        """;

    /// <summary>Claims those of the messages that are due; the others are someone else's, finished, or expired.</summary>
    public Task<IReadOnlyList<ClaimedMessage>> ClaimAsync(IReadOnlyList<long> ids, DateTime now, DateTime leaseUntil,
        CancellationToken cancellationToken) =>
        ClaimAsync(ids, now, leaseUntil, testOnly: false, cancellationToken);

    /// <summary>Claims those of the messages that are test messages (SPEC §11.2) and due; they take no slot of the pace.</summary>
    public Task<IReadOnlyList<ClaimedMessage>> ClaimTestMessagesAsync(IReadOnlyList<long> ids, DateTime now, DateTime leaseUntil,
        CancellationToken cancellationToken) =>
        ClaimAsync(ids, now, leaseUntil, testOnly: true, cancellationToken);

    private async Task<IReadOnlyList<ClaimedMessage>> ClaimAsync(IReadOnlyList<long> ids, DateTime now, DateTime leaseUntil,
        bool testOnly, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var claimed = (await connection.QueryAsync<ClaimedMessage>(new CommandDefinition(ClaimSql,
            new { ids = ids.ToArray(), now, dueBy = now + _clockTolerance, leaseUntil, testOnly },
            cancellationToken: cancellationToken))).ToList();
        if (claimed.Count > 0)
        {
            sweeps.Claimed(claimed.Max(message => message.CreatedAt));
        }

        return claimed;
    }

    /// <summary>Records the provider's acceptance of several messages in one statement.</summary>
    public Task<bool> AcceptAsync(IReadOnlyList<(long Id, string ProviderMessageId, string? SendTrace)> accepted, DateTime now,
        CancellationToken cancellationToken) =>
        ChangeStatusAsync(AcceptSql, new
        {
            ids = accepted.Select(a => a.Id).ToArray(),
            providerMessageIds = accepted.Select(a => a.ProviderMessageId).ToArray(),
            sendTraces = accepted.Select(a => a.SendTrace).ToArray(),
            now,
        }, cancellationToken);

    public Task<bool> FailAsync(long id, int attempts, string code, string description, DateTime now,
        CancellationToken cancellationToken) =>
        ChangeStatusAsync(FailSql, new { id, attempts, code, description, now }, cancellationToken);

    /// <summary>Makes the message due again at <paramref name="retryAt"/>; a null error keeps the last one.</summary>
    public Task<bool> RetryAsync(long id, int attempts, DateTime retryAt, string? lastError, CancellationToken cancellationToken) =>
        ScheduleAsync(RetrySql, retryAt, new { id, attempts, retryAt, lastError }, cancellationToken);

    /// <summary>Returns a claimed message that was not called; due again at <paramref name="dueAt"/>.</summary>
    public Task<bool> HandBackAsync(long id, int attempts, DateTime dueAt, CancellationToken cancellationToken) =>
        ScheduleAsync(HandBackSql, dueAt, new { id, attempts, dueAt }, cancellationToken);

    /// <summary>
    /// Keeps every dispatcher from calling <paramref name="recipient"/> before <paramref name="until"/> (a later wait
    /// already recorded stands); waits that have ended are cleared on the way.
    /// </summary>
    public async Task WaitForRecipientAsync(string recipient, DateTime until, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(WaitForRecipientSql, new { recipient, until, now },
            cancellationToken: cancellationToken));
    }

    public Task<bool> DeferAsync(long id, int attempts, DateTime resumeAt, string lastError, bool called,
        CancellationToken cancellationToken) =>
        ScheduleAsync(DeferSql, resumeAt, new { id, attempts, resumeAt, lastError, called }, cancellationToken);

    /// <summary>Holds the message for reconciliation; false when a status adopted it first (or the attempt is stale).</summary>
    public Task<bool> HoldAsync(long id, int attempts, DateTime holdUntil, string lastError, DateTime? calledAt, DateTime now,
        CancellationToken cancellationToken) =>
        ScheduleAsync(HoldSql, holdUntil, new { id, attempts, holdUntil, lastError, calledAt, now }, cancellationToken);

    /// <summary>Makes a message due at <paramref name="dueAt"/>, when the sweeper publishes its command, and tells it so.</summary>
    private async Task<bool> ScheduleAsync(string sql, DateTime dueAt, object parameters, CancellationToken cancellationToken)
    {
        var scheduled = await ExecuteAsync(sql, parameters, cancellationToken);
        if (scheduled)
        {
            sweeps.Due(dueAt);
        }

        return scheduled;
    }

    /// <summary>Runs a status change that counts its changed rows itself (its status events come in the same statement).</summary>
    private async Task<bool> ChangeStatusAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, parameters,
            cancellationToken: cancellationToken)) > 0;
    }

    private async Task<bool> ExecuteAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken)) > 0;
    }
}
