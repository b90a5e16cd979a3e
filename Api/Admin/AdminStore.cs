using System.Diagnostics;
using Dapper;
using GovSg.Callbacks;
using Npgsql;

namespace GovSg.Api.Admin;

/// <summary>The operator's writes (SPEC §7): users, keys, templates and grants.</summary>
public sealed class AdminStore(NpgsqlDataSource dataSource)
{
    // Without an agency, only an existing user is changed (the insert is skipped, and nothing is returned for a new one).
    private const string UpsertUserSql = """
        INSERT INTO users (email, agency, rate_limit_per_second, rate_limit_burst, default_wait_seconds, message_validity,
                           created_at)
        SELECT @email, COALESCE(@agency, u.agency), COALESCE(@rateLimit, 10), @burst, COALESCE(@defaultWait, 0),
               COALESCE(@validity, interval '24 hours'), @now
        FROM (SELECT NULL) one LEFT JOIN users u ON u.email = @email
        WHERE @agency IS NOT NULL OR u.id IS NOT NULL
        ON CONFLICT (email) DO UPDATE SET
            agency = excluded.agency,
            rate_limit_per_second = COALESCE(@rateLimit, users.rate_limit_per_second),
            rate_limit_burst = COALESCE(@burst, users.rate_limit_burst),
            default_wait_seconds = COALESCE(@defaultWait, users.default_wait_seconds),
            message_validity = COALESCE(@validity, users.message_validity)
        RETURNING id
        """;

    // A user enabled again gets back the messages the Dispatcher's sweep parked until their expiry while the user was
    // disabled (SweepStore), with no command in flight: sweep_at goes back to the message's own due time, when it was
    // stored for a never-claimed one (long lost: its command was skipped), a retry's or a hold's time for the others.
    private const string SetUserDisabledSql = """
        WITH changed AS (
            UPDATE users SET disabled_at = CASE WHEN @disabled THEN COALESCE(disabled_at, @now) END WHERE email = @email
            RETURNING id
        ), unparked AS (
            UPDATE messages m SET sweep_at = m.available_at
            FROM changed c
            WHERE NOT @disabled AND m.user_id = c.id AND m.status = 'UNSENT' AND NOT m.call_open AND m.sweep_at >= m.expires_at
        )
        SELECT count(*) FROM changed
        """;

    // The user's messages the provider has not accepted (SPEC §7). Guarded on UNSENT, so a message accepted meanwhile
    // keeps its status. A message whose call may be under way, or that is held to reconcile such a call (SPEC §5), cannot
    // be ended yet: the provider may have sent it, and a status can still adopt it. It is marked instead, and its expiry
    // brought forward to now, so the sweep's expiry ends it as cancelled once its call or hold ends unadopted (SweepStore).
    // Records its status events in the same statement (SPEC §4).
    private const string CancelPendingSql = $"""
        WITH pending AS (
            SELECT m.id, m.call_open OR (m.held_attempt IS NOT DISTINCT FROM m.attempts AND m.available_at > @now) AS busy
            FROM messages m JOIN users u ON u.id = m.user_id
            WHERE u.email = @email AND u.disabled_at IS NOT NULL AND m.status = 'UNSENT'
            FOR UPDATE OF m
        ), changed AS (
            UPDATE messages m SET
                status = 'ERROR', errored_at = {StatusEventSql.ChangedAt}, updated_at = {StatusEventSql.ChangedAt},
                error_code = {StatusEventSql.CancelledCode}, error_description = {StatusEventSql.CancelledDescription}
            FROM pending p
            WHERE m.id = p.id AND NOT p.busy AND m.status = 'UNSENT'
            RETURNING m
        ), marked AS (
            UPDATE messages m SET cancel_requested_at = COALESCE(m.cancel_requested_at, @now), expires_at = LEAST(m.expires_at, @now)
            FROM pending p
            WHERE m.id = p.id AND p.busy AND m.status = 'UNSENT'
            RETURNING m.id
        ), {StatusEventSql.RecordChanged}
        SELECT (SELECT count(*) FROM changed) AS cancelled, (SELECT count(*) FROM marked) AS marked
        """;

    private const string UserIdSql = "SELECT id FROM users WHERE email = @email";

    private const string UserColumns = """
        u.id, u.email, u.agency, u.rate_limit_per_second, u.rate_limit_burst, u.default_wait_seconds, u.message_validity,
        u.created_at, u.disabled_at
        """;

    private const string ListUsersSql = $"SELECT {UserColumns} FROM users u WHERE @agency IS NULL OR u.agency = @agency ORDER BY u.id";

    private const string ShowUserSql = $"""
        SELECT {UserColumns},
               ARRAY(SELECT g.template_id FROM template_grants g WHERE g.user_id = u.id ORDER BY g.template_id) AS templates
        FROM users u WHERE u.email = @email
        """;

    private const string InsertKeySql = """
        INSERT INTO api_keys (user_id, key_id, secret_hash, last_five, label, type, created_at, valid_until)
        VALUES (@userId, @keyId, @secretHash, @lastFive, @label, @type, @now, @validUntil)
        """;

    private const string RevokeKeySql = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @now) WHERE key_id = @keyId";

    // The lock the Api takes to make a key of the user (Keys/KeyStore.cs): a key being made from one of these commits
    // before the revoke's statement reads, or is refused after it.
    private const string LockKeysUserSql = """
        SELECT pg_advisory_xact_lock(1, (user_id % 2147483647)::int) FROM api_keys WHERE key_id = @keyId
        """;

    // The key, the keys it made, the keys those made, and so on: whoever held a stolen key could have made keys with
    // the keys it made. Revoked ones too, as a revoked key made its keys before it was revoked.
    private const string RevokeKeyAndItsKeysSql = """
        WITH RECURSIVE line (id) AS (
            SELECT id FROM api_keys WHERE key_id = @keyId
            UNION
            SELECT k.id FROM api_keys k JOIN line ON k.made_by = line.id)
        UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, @now)
        FROM line JOIN api_keys old ON old.id = line.id
        WHERE k.id = line.id
        RETURNING k.key_id, old.revoked_at IS NOT NULL AS already
        """;

    private const string SetKeyDisabledSql = """
        UPDATE api_keys SET disabled_at = CASE WHEN @disabled THEN COALESCE(disabled_at, @now) END
        WHERE key_id = @keyId AND revoked_at IS NULL
        """;

    private const string ListKeysSql = """
        SELECT k.key_id, k.label, k.type, k.created_at, k.last_used_at, k.valid_until, k.revoked_at, k.disabled_at,
               maker.key_id AS made_by
        FROM api_keys k JOIN users u ON u.id = k.user_id
        LEFT JOIN api_keys maker ON maker.id = k.made_by
        WHERE u.email = @email
        ORDER BY k.created_at
        """;

    private const string ListTemplatesSql = """
        SELECT id, name, whatsapp_template_name, params, updated_at FROM templates ORDER BY id
        """;

    private const string UpsertTemplateSql = """
        INSERT INTO templates (id, name, whatsapp_template_name, body, params, param_metadata, translations,
                               created_at, updated_at)
        VALUES (@Id, @Name, @WhatsAppTemplateName, @Body, @Params, @ParamMetadata::jsonb, @Translations::jsonb, @Now, @Now)
        ON CONFLICT (id) DO UPDATE SET
            name = excluded.name,
            whatsapp_template_name = excluded.whatsapp_template_name,
            body = excluded.body,
            params = excluded.params,
            param_metadata = excluded.param_metadata,
            translations = excluded.translations,
            updated_at = excluded.updated_at
        """;

    private const string GrantSql = """
        INSERT INTO template_grants (user_id, template_id, granted_at)
        SELECT u.id, t.id, @now FROM users u, templates t WHERE u.email = @email AND t.id = @templateId
        ON CONFLICT (user_id, template_id) DO UPDATE SET granted_at = template_grants.granted_at
        """;

    private const string RevokeGrantSql = """
        DELETE FROM template_grants g USING users u
        WHERE g.user_id = u.id AND u.email = @email AND g.template_id = @templateId
        """;

    /// <summary>Creates the user, or changes the settings given; returns its id.</summary>
    /// <param name="burst">The user's burst; when never set, 60 × the rate (SPEC §7).</param>
    public async Task<long> UpsertUserAsync(string email, string agency, int? rateLimit, int? burst, int? defaultWait,
        TimeSpan? validity, DateTime now, CancellationToken cancellationToken) =>
        await SaveUserAsync(email, agency, rateLimit, burst, defaultWait, validity, now, cancellationToken)
        ?? throw new UnreachableException("a user with an agency is always stored");

    /// <summary>As <see cref="UpsertUserAsync"/>, but without an agency only an existing user is changed: null when there is none.</summary>
    public async Task<long?> SaveUserAsync(string email, string? agency, int? rateLimit, int? burst, int? defaultWait,
        TimeSpan? validity, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(UpsertUserSql,
            new { email, agency, rateLimit, burst, defaultWait, validity, now }, cancellationToken: cancellationToken));
    }

    public Task<int> SetUserDisabledAsync(string email, bool disabled, DateTime now, CancellationToken cancellationToken) =>
        CountAsync(SetUserDisabledSql, new { email, disabled, now }, cancellationToken);

    /// <summary>
    /// Cancels a disabled user's pending messages; returns how many, and how many more are in a provider call or held to
    /// reconcile one, each to end as cancelled when that is over unless the provider took it.
    /// </summary>
    public async Task<(int Cancelled, int Marked)> CancelPendingAsync(string email, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (cancelled, marked) = await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(CancelPendingSql,
            new { email, now }, cancellationToken: cancellationToken));
        return ((int)cancelled, (int)marked);
    }

    public async Task<long?> FindUserIdAsync(string email, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(UserIdSql, new { email },
            cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<UserSummary>> ListUsersAsync(string? agency, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<UserSummary>(new CommandDefinition(ListUsersSql, new { agency },
            cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>The user's settings and granted templates, or null when there is no such user.</summary>
    public async Task<UserSummary?> ShowUserAsync(string email, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<UserSummary>(new CommandDefinition(ShowUserSql, new { email },
            cancellationToken: cancellationToken));
    }

    public Task<int> InsertKeyAsync(long userId, string keyId, byte[] secretHash, string lastFive, string label, string type,
        DateTime now, DateTime validUntil, CancellationToken cancellationToken) =>
        ExecuteAsync(InsertKeySql, new { userId, keyId, secretHash, lastFive, label, type, now, validUntil }, cancellationToken);

    public Task<int> RevokeKeyAsync(string keyId, DateTime now, CancellationToken cancellationToken) =>
        ExecuteAsync(RevokeKeySql, new { keyId, now }, cancellationToken);

    /// <summary>Revokes the key and every key made from it; each, and whether it was revoked already.</summary>
    public async Task<IReadOnlyList<(string KeyId, bool Already)>> RevokeKeyAndItsKeysAsync(string keyId, DateTime now,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var parameters = new { keyId, now };
        await connection.ExecuteAsync(new CommandDefinition(LockKeysUserSql, parameters, transaction, cancellationToken: cancellationToken));
        var revoked = (await connection.QueryAsync<(string, bool)>(new CommandDefinition(RevokeKeyAndItsKeysSql, parameters,
            transaction, cancellationToken: cancellationToken))).ToList();
        await transaction.CommitAsync(cancellationToken);
        return revoked;
    }

    public Task<int> SetKeyDisabledAsync(string keyId, bool disabled, DateTime now, CancellationToken cancellationToken) =>
        ExecuteAsync(SetKeyDisabledSql, new { keyId, disabled, now }, cancellationToken);

    public async Task<IReadOnlyList<KeySummary>> ListKeysAsync(string email, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<KeySummary>(new CommandDefinition(ListKeysSql, new { email },
            cancellationToken: cancellationToken))).ToList();
    }

    public async Task<IReadOnlyList<TemplateSummary>> ListTemplatesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<TemplateSummary>(new CommandDefinition(ListTemplatesSql,
            cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>Creates or updates the templates in one transaction: all of them, or none.</summary>
    public async Task UpsertTemplatesAsync(IReadOnlyList<TemplateDefinition> templates, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var template in templates)
        {
            await connection.ExecuteAsync(new CommandDefinition(UpsertTemplateSql, new
            {
                template.Id,
                template.Name,
                template.WhatsAppTemplateName,
                template.Body,
                Params = template.Params.ToArray(),
                ParamMetadata = template.ParamMetadataJson,
                Translations = template.TranslationsJson,
                Now = now,
            }, transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public Task<int> GrantAsync(string email, long templateId, DateTime now, CancellationToken cancellationToken) =>
        ExecuteAsync(GrantSql, new { email, templateId, now }, cancellationToken);

    public Task<int> RevokeGrantAsync(string email, long templateId, CancellationToken cancellationToken) =>
        ExecuteAsync(RevokeGrantSql, new { email, templateId }, cancellationToken);

    private async Task<int> ExecuteAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
    }

    /// <summary>Runs a statement that reports its own count (a CTE's rows), where rows affected would not.</summary>
    private async Task<int> CountAsync(string sql, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<int>(new CommandDefinition(sql, parameters, cancellationToken: cancellationToken));
    }
}

public sealed class KeySummary
{
    public string KeyId { get; init; } = "";
    public string Label { get; init; } = "";
    public string Type { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime? LastUsedAt { get; init; }
    public DateTime ValidUntil { get; init; }
    public DateTime? RevokedAt { get; init; }
    public DateTime? DisabledAt { get; init; }

    /// <summary>The key id of the key that made this one (SPEC §3.9); null when an operator made it.</summary>
    public string? MadeBy { get; init; }
}

public sealed class UserSummary
{
    public long Id { get; init; }
    public string Email { get; init; } = "";
    public string Agency { get; init; } = "";
    public int RateLimitPerSecond { get; init; }

    /// <summary>Null when never set: then 60 × the rate (SPEC §7).</summary>
    public int? RateLimitBurst { get; init; }

    public int DefaultWaitSeconds { get; init; }
    public TimeSpan MessageValidity { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? DisabledAt { get; init; }
    public long[] Templates { get; init; } = [];
}

public sealed class TemplateSummary
{
    public long Id { get; init; }
    public string Name { get; init; } = "";
    public string WhatsappTemplateName { get; init; } = "";
    public string[] Params { get; init; } = [];
    public DateTime UpdatedAt { get; init; }
}
