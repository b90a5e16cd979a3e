using Dapper;
using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Api.Messages;

/// <summary>A batch stored under its idempotency key (0010_message_batches.sql).</summary>
public sealed class BatchRow
{
    public long Id { get; init; }
    public byte[] RequestHash { get; init; } = [];
    public string Entries { get; init; } = "[]";
    public DateTime CreatedAt { get; init; }
}

/// <summary>The idempotency key a batch is stored under (per key type), with the fingerprint of its body.</summary>
public sealed record BatchKey(string KeyType, string Key, BodyFingerprint Fingerprint);

public sealed class BatchStore(NpgsqlDataSource dataSource)
{
    // The key's turn (Idempotency.TurnKeySql), then the key itself, unless a single send of the last 24 h holds it.
    // Taking the key first makes a concurrent duplicate wait here until this batch commits, then find it taken.
    private static readonly string ClaimSql = $"""
        SELECT {Idempotency.TakeTurnSql(Idempotency.TurnKeySql("@userId", "@keyType", "@key"))};
        INSERT INTO message_batches (user_id, key_type, idempotency_key, request_hash, entries, created_at)
        SELECT @userId, @keyType, @key, @requestHash, '[]', @now
        WHERE NOT EXISTS (SELECT FROM messages
                          WHERE user_id = @userId AND key_type = @keyType AND idempotency_key = @key
                            AND created_at > @now - @window)
        ON CONFLICT (user_id, key_type, idempotency_key) DO NOTHING
        RETURNING id
        """;

    private const string SetEntriesSql = "UPDATE message_batches SET entries = @entries::json WHERE id = @id";

    // Each keyed batch deletes up to four whose window has passed, more than it adds, so the table holds about the
    // window's batches whatever the traffic; two Apis storing at once skip each other's rows.
    private const string ForgetExpiredSql = """
        DELETE FROM message_batches WHERE id IN (
            SELECT id FROM message_batches WHERE created_at <= @windowStart ORDER BY created_at LIMIT 4 FOR UPDATE SKIP LOCKED)
        """;

    /// <summary>
    /// The columns of a <see cref="BatchRow"/>, read by <see cref="MessageStore.FindKeyHoldersAsync"/>; they start with
    /// their only <c>id</c>, where its rows split between the message and the batch.
    /// </summary>
    internal const string Columns = "id, request_hash, entries::text AS entries, created_at";

    private const string ReleaseSql = "DELETE FROM message_batches WHERE id = @id";

    /// <summary>
    /// Stores the accepted messages in one statement and, with a key, the batch's entries (built from the new ids),
    /// all in one transaction, which also forgets a few batches whose replay window has passed. Null when another batch
    /// or a single send of the last 24 h already holds the key (nothing is stored then).
    /// </summary>
    public async Task<IReadOnlyList<long>?> StoreAsync(long userId, IReadOnlyList<NewMessage> messages, BatchKey? key,
        DateTime now, Func<IReadOnlyList<long>, string> entries, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        long? batchId = null;
        if (key is not null)
        {
            batchId = await ClaimAsync(connection, transaction, userId, key, now, cancellationToken);
            if (batchId is null)
            {
                return null;
            }
        }

        IReadOnlyList<long> ids = messages.Count == 0
            ? []
            : [.. (await MessageStore.InsertAsync(connection, transaction, messages, cancellationToken)).Select(id => id!.Value)];
        if (batchId is { } id)
        {
            await connection.ExecuteAsync(new CommandDefinition(SetEntriesSql, new { id, entries = entries(ids) }, transaction,
                cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(ForgetExpiredSql, new { windowStart = now - Idempotency.Window },
                transaction, cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken).AsCommit();
        return ids;
    }

    /// <summary>
    /// Whether a batch holds the key, once a request storing one under it right now (on any Api) has finished: a read
    /// does not see a batch whose transaction has not committed, so the key is tried by a claim that waits for it and is
    /// rolled back.
    /// </summary>
    public async Task<bool> IsKeyTakenOnceStoredAsync(long userId, BatchKey key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var attempt = await connection.BeginTransactionAsync(cancellationToken);
        var free = await ClaimAsync(connection, attempt, userId, key, DateTime.UtcNow, cancellationToken);
        await attempt.RollbackAsync(cancellationToken);
        return free is null;
    }

    /// <summary>The new batch's id, once the key's turn came; null when another batch or a single send holds the key.</summary>
    private static async Task<long?> ClaimAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long userId,
        BatchKey key, DateTime now, CancellationToken cancellationToken)
    {
        await using var claim = await connection.QueryMultipleAsync(new CommandDefinition(ClaimSql,
            new { userId, keyType = key.KeyType, key = key.Key, requestHash = key.Fingerprint.Hash, now, window = Idempotency.Window },
            transaction, cancellationToken: cancellationToken));
        await claim.ReadAsync();
        return await claim.ReadSingleOrDefaultAsync<long?>();
    }

    /// <summary>Frees a key whose 24 h window has passed so it can name a new batch.</summary>
    public async Task ReleaseAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(ReleaseSql, new { id }, cancellationToken: cancellationToken));
    }
}
