using System.Security.Cryptography;
using Dapper;
using GovSg.Api.Database;
using GovSg.Callbacks;
using Npgsql;

namespace GovSg.Api.Callbacks;

/// <summary>A user's callback settings as SPEC §11.1 shows them.</summary>
public sealed class CallbackSettingsRow
{
    public string? Url { get; init; }
    public string? SecretLastFive { get; init; }
    public DateTime? LastSuccessAt { get; init; }
    public DateTime? LastFailureAt { get; init; }
    public string? LastFailureReason { get; init; }
    public long Pending { get; init; }
}

/// <summary>
/// A user's callback URL and signing secrets (SPEC §11.1), for the agency routes and the operator's command. Changes to
/// one user's settings queue on their settings row, so two at once cannot both create a first secret.
/// </summary>
public sealed class CallbackSettingsStore(NpgsqlDataSource dataSource)
{
    /// <summary>How long a rotated secret keeps signing beside its successor.</summary>
    public static readonly TimeSpan RotationOverlap = TimeSpan.FromHours(24);

    // Pending events are counted up to a million: a dead endpoint's day can leave tens of millions, more than the
    // request's statement timeout can count. The events a discard left for the workers to delete are not pending.
    private const string GetSql = """
        SELECT s.url, k.secret_last_five, s.last_success_at, s.last_failure_at, s.last_failure_reason,
               CASE WHEN s.url IS NULL THEN 0 ELSE (
                   SELECT count(*) FROM (SELECT 1 FROM status_events e
                                         WHERE e.user_id = @userId AND e.id > s.discard_through
                                         LIMIT 1000000) p) END
                   AS pending
        FROM (SELECT @userId AS user_id) u
        LEFT JOIN callback_settings s ON s.user_id = u.user_id
        LEFT JOIN callback_secrets k ON k.user_id = u.user_id AND k.valid_until IS NULL
        """;

    // A new URL starts with a clean bill of health: the old endpoint's failures say nothing about the new one.
    private const string UpsertSql = """
        INSERT INTO callback_settings (user_id, url, updated_at) VALUES (@userId, @url, @now)
        ON CONFLICT (user_id) DO UPDATE SET
            url = excluded.url, updated_at = excluded.updated_at,
            consecutive_failures = CASE WHEN callback_settings.url IS DISTINCT FROM excluded.url
                                        THEN 0 ELSE callback_settings.consecutive_failures END,
            paused_until = CASE WHEN callback_settings.url IS DISTINCT FROM excluded.url
                                THEN NULL ELSE callback_settings.paused_until END
        """;

    private const string LockSql = """
        INSERT INTO callback_settings (user_id, url, updated_at) VALUES (@userId, NULL, @now)
        ON CONFLICT (user_id) DO UPDATE SET updated_at = excluded.updated_at
        """;

    // The URL before this change, its row locked until the change commits.
    private const string PreviousUrlSql = "SELECT url FROM callback_settings WHERE user_id = @userId FOR UPDATE";

    // Turning callbacks off discards what is pending (SPEC §11.1). So does turning them on: what is pending then was
    // recorded by a status change that raced the last turn-off (its statement read the URL before the discard, and
    // committed after it), and belongs to the time callbacks were off. Discarded, not deleted here: after hours of a
    // dead endpoint that is millions of rows, more than the statement timeout deletes (migration 0036). Every event
    // committed before this statement has an id up to the largest it sees, and every event recorded after it a larger
    // one; the workers delete the discarded in batches.
    private const string DiscardPendingSql = $"""
        UPDATE callback_settings
        SET discard_through = GREATEST(discard_through, (SELECT COALESCE(max(id), 0) FROM status_events)),
            discard_pending = true
        WHERE user_id = @userId;
        SELECT pg_notify('{StatusEventSql.DiscardChannel}', '');
        """;

    // A new URL is a fresh start for what waits: an agency that fixes a broken endpoint gets its pending events now, not
    // after backoffs of up to an hour earned by the old one (nor after the old one's pause, which the upsert ended). An
    // event under delivery to the old URL may be delivered again meanwhile (at least once; receivers deduplicate by
    // event id). At most 10,000 of them, the soonest due, from the user's due index: more would keep the request
    // past its statement timeout after a day's backlog, and the workers take a user's events a few at a time anyway; the
    // rest come at their own retry, within the backoff's cap of an hour. The workers sleep until the next event they
    // know of, so they are woken (on commit). The events are locked in id order, as the Dispatcher's record of a round's
    // deliveries locks them: each may hold some the other wants, and in one order neither waits for the other in turn.
    private const string RetryPendingNowSql = $"""
        UPDATE status_events SET next_attempt_at = @now
        WHERE id IN (SELECT id FROM status_events
                     WHERE id IN (SELECT id FROM status_events WHERE user_id = @userId AND next_attempt_at > @now
                                    AND id > (SELECT discard_through FROM callback_settings WHERE user_id = @userId)
                                  ORDER BY next_attempt_at LIMIT 10000)
                     ORDER BY id FOR UPDATE);
        SELECT pg_notify('{StatusEventSql.WakeChannel}', '');
        """;

    private const string CreateFirstSecretSql = """
        INSERT INTO callback_secrets (user_id, secret, created_at)
        SELECT @userId, @secret, @now
        WHERE NOT EXISTS (SELECT 1 FROM callback_secrets WHERE user_id = @userId AND valid_until IS NULL)
        RETURNING id
        """;

    // The current secret keeps signing for the overlap; one rotated earlier stops now and is deleted, as is any whose
    // overlap ended: a user has at most two secrets, so at most two signatures go out and rotations leave nothing behind.
    private const string RetireSecretsSql = """
        WITH ended AS (DELETE FROM callback_secrets WHERE user_id = @userId AND valid_until IS NOT NULL)
        UPDATE callback_secrets SET valid_until = @overlapEnd WHERE user_id = @userId AND valid_until IS NULL
        """;

    private const string InsertSecretSql = """
        INSERT INTO callback_secrets (user_id, secret, created_at) VALUES (@userId, @secret, @now)
        """;

    public async Task<CallbackSettingsRow> GetAsync(long userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<CallbackSettingsRow>(new CommandDefinition(GetSql, new { userId },
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Sets the URL (null turns callbacks off); returns the signing secret when this created the first one, and the
    /// settings as committed, read in the same transaction: a secret is shown once, so no later read may stand between
    /// its commit and the answer that carries it.
    /// </summary>
    public async Task<(string? Secret, CallbackSettingsRow Settings)> SetAsync(long userId, string? url, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var previous = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(PreviousUrlSql, new { userId },
            transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(UpsertSql, new { userId, url, now }, transaction,
            cancellationToken: cancellationToken));
        if (url is null || previous is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(DiscardPendingSql, new { userId }, transaction,
                cancellationToken: cancellationToken));
        }
        else if (url != previous)
        {
            await connection.ExecuteAsync(new CommandDefinition(RetryPendingNowSql, new { userId, now }, transaction,
                cancellationToken: cancellationToken));
        }

        string? secret = null;
        if (url is not null)
        {
            // Not read back: only the Dispatcher is to read secrets (grants.sql). The new one is known here.
            var candidate = NewSecret();
            var created = await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(CreateFirstSecretSql,
                new { userId, secret = candidate, now }, transaction, cancellationToken: cancellationToken));
            secret = created is null ? null : candidate;
        }

        var settings = await connection.QuerySingleAsync<CallbackSettingsRow>(new CommandDefinition(GetSql, new { userId },
            transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken).AsCommit();
        return (secret, settings);
    }

    /// <summary>Creates a new signing secret; the previous one keeps signing for <see cref="RotationOverlap"/>.</summary>
    public async Task<string> RotateSecretAsync(long userId, DateTime now, CancellationToken cancellationToken)
    {
        var secret = NewSecret();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(LockSql, new { userId, now }, transaction,
            cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(RetireSecretsSql,
            new { userId, overlapEnd = now + RotationOverlap }, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(InsertSecretSql, new { userId, secret, now }, transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken).AsCommit();
        return secret;
    }

    /// <summary>256 random bits, hex, behind a prefix that tells a leaked secret apart from an API key.</summary>
    private static string NewSecret() => "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
