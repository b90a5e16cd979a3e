using Dapper;
using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Api.Keys;

/// <summary>A key as its owner may see it: never the key or its hash.</summary>
public sealed class KeyRow
{
    public string KeyId { get; init; } = "";
    public string Label { get; init; } = "";
    public string Type { get; init; } = "";
    public string? LastFive { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? LastUsedAt { get; init; }
    public DateTime ValidUntil { get; init; }
    public DateTime? RevokedAt { get; init; }
}

/// <summary>What creating a key stores; the secret only as its keyed hash, and the key that made it (its row id).</summary>
public sealed record NewKey(long UserId, string KeyId, byte[] SecretHash, string LastFive, string Label, string Type,
    DateTime Now, DateTime ValidUntil, long MadeBy);

/// <summary>An agency's own keys (SPEC §3.9). A null type filter means every type.</summary>
public sealed class KeyStore(NpgsqlDataSource dataSource)
{
    /// <summary>Active (unrevoked, unexpired) keys a user may hold of one type.</summary>
    public const int MaxActivePerType = 10;

    private const string Columns = "key_id, label, type, last_five, created_at, last_used_at, valid_until, revoked_at";

    // Creations for one user queue on a lock of the user's own, held to the end of the transaction, so two at once
    // cannot both see nine active keys. An advisory lock, not the user's row: locking a row takes UPDATE privilege,
    // and the Api's database role may not update users (Database/grants.sql). Ids past 2^31 share a lock, harmlessly.
    private const string LockUserSql = "SELECT pg_advisory_xact_lock(1, (@UserId % 2147483647)::int)";

    // The user's active keys of the type, and whether the key making this one has been revoked or disabled since the
    // request's authentication read it (up to Auth:KeyCacheDuration before): `admin key revoke --with-keys-it-made` takes
    // the same lock, so a key is either made before it and revoked with the rest, or refused after it.
    private const string CountActiveSql = """
        SELECT (SELECT count(*) FROM api_keys
                WHERE user_id = @UserId AND type = @Type AND revoked_at IS NULL AND valid_until > @Now) AS active,
               (SELECT CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN disabled_at IS NOT NULL THEN 'disabled' END
                FROM api_keys WHERE id = @MadeBy) AS maker_stopped
        """;

    private const string InsertSql = $"""
        INSERT INTO api_keys (user_id, key_id, secret_hash, last_five, label, type, created_at, valid_until, made_by)
        VALUES (@UserId, @KeyId, @SecretHash, @LastFive, @Label, @Type, @Now, @ValidUntil, @MadeBy)
        RETURNING {Columns}
        """;

    /// <summary>
    /// How many keys a list shows beyond the active ones: revoked and expired keys pile up with every rotation, and a
    /// list of all of them would grow without bound.
    /// </summary>
    public const int ListLimit = 100;

    // Every active key, and the newest keys up to the limit, newest first.
    private const string ListSql = $"""
        SELECT {Columns} FROM (
            (SELECT id, {Columns} FROM api_keys WHERE user_id = @userId AND (@type::text IS NULL OR type = @type)
             ORDER BY created_at DESC, id DESC LIMIT @limit)
            UNION
            SELECT id, {Columns} FROM api_keys WHERE user_id = @userId AND (@type::text IS NULL OR type = @type)
                AND revoked_at IS NULL AND valid_until > @now
        ) k
        ORDER BY created_at DESC, id DESC
        """;

    private const string RevokeSql = """
        UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @now)
        WHERE key_id = @keyId AND user_id = @userId AND (@type::text IS NULL OR type = @type)
        """;

    /// <summary>
    /// Stores the key; or answers why not: the user already has the most active keys of its type (no row, no reason), or
    /// the key making it has been revoked or disabled (<c>"revoked"</c>, <c>"disabled"</c>).
    /// </summary>
    public async Task<(KeyRow? Row, string? MakerStopped)> CreateAsync(NewKey key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(LockUserSql, key, transaction, cancellationToken: cancellationToken));
        var (active, makerStopped) = await connection.QuerySingleAsync<(long, string?)>(new CommandDefinition(CountActiveSql, key,
            transaction, cancellationToken: cancellationToken));
        if (makerStopped is not null || active >= MaxActivePerType)
        {
            return (null, makerStopped);
        }

        var row = await connection.QuerySingleAsync<KeyRow>(new CommandDefinition(InsertSql, key, transaction,
            cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken).AsCommit();
        return (row, null);
    }

    /// <summary>Every active key and the newest <see cref="ListLimit"/> keys, newest first.</summary>
    public async Task<IReadOnlyList<KeyRow>> ListAsync(long userId, string? type, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<KeyRow>(new CommandDefinition(ListSql, new { userId, type, now, limit = ListLimit },
            cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>Revokes the user's key (of the type, if given); false when there is no such key.</summary>
    public async Task<bool> RevokeAsync(long userId, string keyId, string? type, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(RevokeSql, new { userId, keyId, type, now },
            cancellationToken: cancellationToken)).AsCommit() > 0;
    }
}
