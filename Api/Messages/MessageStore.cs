using Dapper;
using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Api.Messages;

/// <summary>A message as stored, with the columns the Api reads back.</summary>
public sealed class MessageRow
{
    public long Id { get; init; }
    public string Recipient { get; init; } = "";
    public long TemplateId { get; init; }
    public string Params { get; init; } = "{}";
    public string LanguageCode { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? AcceptedAt { get; init; }
    public DateTime? SentAt { get; init; }
    public DateTime? DeliveredAt { get; init; }
    public DateTime? ReadAt { get; init; }
    public DateTime? ErroredAt { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorDescription { get; init; }
    public string Status { get; init; } = "";
    public byte[]? RequestHash { get; init; }
}

/// <summary>
/// What holds an <c>Idempotency-Key</c>: the single send's message, the batch, or neither. Each route keeps its own keys,
/// and one key names one request across both (SPEC §3.8).
/// </summary>
public sealed record KeyHolders(MessageRow? Message, BatchRow? Batch);

/// <summary>Everything the insert needs; the provider-facing fields are fixed here, at acceptance.</summary>
public sealed record NewMessage(
    long UserId,
    long TemplateId,
    string Recipient,
    string Params,
    string LanguageCode,
    string WhatsAppTemplateName,
    string[] ParamOrder,
    DateTime Now,
    DateTime ExpiresAt,
    DateTime SweepAt,
    string? IdempotencyKey,
    byte[]? RequestHash,
    string KeyType);

public sealed class MessageStore : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly Batcher<NewMessage, long?> _inserts;
    private readonly Batcher<(long UserId, string KeyType, string Key), KeyHolders> _keyLookups;

    public MessageStore(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        _inserts = new Batcher<NewMessage, long?>(InsertBatchAsync, maxBatch: 200, concurrency: 4);
        _keyLookups = new Batcher<(long, string, string), KeyHolders>(FindManyKeyHoldersAsync, maxBatch: 200, concurrency: 4);
    }

    // Starts with its only `id`: where FindKeyHoldersSql's rows split between the message and the batch.
    public const string Columns = """
        id, recipient, template_id, params::text AS params, language_code, created_at, updated_at, accepted_at,
        sent_at, delivered_at, read_at, errored_at, error_code, error_description, status::text AS status
        """;

    // Ids come from the identity sequence inside the statement, so each caller learns its own id even when its row was
    // not inserted: another message holds its idempotency key, or a batch of the last 24 h does (looked for once the
    // keys' turns came, KeyTurnsSql). Param names are \w+ (checked at template import), so a comma-joined list is a
    // safe way to pass one text[] per row through unnest. Rows go in in idempotency-key order, so two statements that
    // hold the same keys wait for each other in one order and never deadlock.
    private const string InsertSql = """
        WITH input AS (
            SELECT nextval('messages_id_seq') AS id, i.*
            FROM unnest(@userIds, @templateIds, @recipients, @params, @languageCodes, @templateNames, @paramOrders,
                        @nows, @expiresAts, @sweepAts, @idempotencyKeys, @requestHashes, @keyTypes)
                 WITH ORDINALITY AS i(user_id, template_id, recipient, params, language_code, whatsapp_template_name,
                                      param_order, now, expires_at, sweep_at, idempotency_key, request_hash, key_type, ord)
        ), inserted AS (
            INSERT INTO messages (id, user_id, template_id, recipient, params, language_code, whatsapp_template_name,
                                  param_order, created_at, updated_at, idempotency_key, request_hash, expires_at,
                                  available_at, sweep_at, key_type)
            OVERRIDING SYSTEM VALUE
            SELECT id, user_id, template_id, recipient, params::jsonb, language_code, whatsapp_template_name,
                   string_to_array(param_order, ','), now, now, idempotency_key, request_hash, expires_at, now, sweep_at,
                   key_type
            FROM input
            WHERE idempotency_key IS NULL OR NOT EXISTS (
                SELECT FROM message_batches b
                WHERE b.user_id = input.user_id AND b.key_type = input.key_type
                  AND b.idempotency_key = input.idempotency_key AND b.created_at > input.now - @window)
            ORDER BY user_id, key_type, idempotency_key, ord
            ON CONFLICT (user_id, key_type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING id
        )
        SELECT inserted.id
        FROM input LEFT JOIN inserted USING (id)
        ORDER BY input.ord
        """;

    // The turns of the rows' keys (Idempotency.TurnKeySql), in order, so that two statements that share some keys never
    // wait for each other's. A statement of its own before InsertSql, in the same transaction.
    private static readonly string KeyTurnsSql = $"""
        SELECT {Idempotency.TakeTurnSql("turn")}
        FROM (SELECT DISTINCT {Idempotency.TurnKeySql("user_id", "key_type", "idempotency_key")} AS turn
              FROM unnest(@userIds, @keyTypes, @idempotencyKeys) AS k(user_id, key_type, idempotency_key)
              WHERE idempotency_key IS NOT NULL
              ORDER BY turn OFFSET 0) AS k;
        """;

    // A key sees only the messages of its own type (SPEC §11.2): another type's message is not found, like another
    // user's.
    private const string GetSql = $"""
        SELECT {Columns} FROM messages WHERE id = @id AND user_id = @userId AND key_type = @keyType
        """;

    private const string GetManySql = $"""
        SELECT {Columns} FROM messages WHERE id = ANY(@ids) AND user_id = @userId AND key_type = @keyType
        """;

    // What holds each key on either route (SPEC §3.8: one key, one request): the single send's message and the batch, in
    // one row per key, in the keys' order.
    private const string FindKeyHoldersSql = $"""
        SELECT k.ord, m.*, b.*
        FROM unnest(@userIds, @keyTypes, @keys) WITH ORDINALITY AS k(user_id, key_type, key, ord)
        LEFT JOIN LATERAL (SELECT {Columns}, request_hash FROM messages
                           WHERE user_id = k.user_id AND key_type = k.key_type AND idempotency_key = k.key) m ON true
        LEFT JOIN LATERAL (SELECT {BatchStore.Columns} FROM message_batches
                           WHERE user_id = k.user_id AND key_type = k.key_type AND idempotency_key = k.key) b ON true
        ORDER BY k.ord
        """;

    // Never kept: rolled back in every case. Its only use is that PostgreSQL makes it wait for a transaction inserting
    // the same key.
    private const string TryIdempotencyKeySql = """
        INSERT INTO messages (user_id, key_type, idempotency_key, template_id, recipient, params, language_code,
                              whatsapp_template_name, param_order, created_at, updated_at, expires_at, available_at, sweep_at)
        VALUES (@userId, @keyType, @key, 0, '', '{}', '', '', '{}', now(), now(), now(), now(), now())
        ON CONFLICT (user_id, key_type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        """;

    // A never-claimed message whose command is still the Api's own (sweep_at is still the insert's pick-up deadline, so no
    // sweep has published one) is made due at once: with no command in flight, the sweep publishes one as soon as a
    // Dispatcher reaches the broker.
    private const string HandToSweepSql = """
        UPDATE messages SET sweep_at = available_at
        WHERE id = ANY(@ids) AND status = 'UNSENT' AND attempts = 0 AND sweep_at = available_at + @pickUpDeadline
        """;

    private const string ReleaseIdempotencyKeySql = """
        UPDATE messages SET idempotency_key = NULL WHERE id = @id AND idempotency_key IS NOT NULL
        """;

    // One statement per sort order, each matching an index (`messages_user_created`, `messages_user_updated`,
    // `messages_user_status_created`: 0017_test_keys.sql); absent filters fold away because
    // Npgsql's unnamed statements are planned with the actual parameter values. The status is tested for NULL as
    // text: a cast to the enum is only stable, so `@Status::message_status IS NULL` would not fold, and the planner
    // would walk the user's whole created_at index filtering for a status it could have looked up.
    private const string ListFilters = $"""
        SELECT {Columns}
        FROM messages
        WHERE user_id = @UserId AND key_type = @KeyType
          AND (@Status::text IS NULL OR status = @Status::text::message_status)
          AND (@CreatedAfter::timestamptz IS NULL OR created_at > @CreatedAfter)
          AND (@CreatedFrom::timestamptz IS NULL OR created_at >= @CreatedFrom)
          AND (@CreatedBefore::timestamptz IS NULL OR created_at < @CreatedBefore)
          AND (@CreatedUntil::timestamptz IS NULL OR created_at <= @CreatedUntil)
        """;

    private const string Page = "LIMIT @Take OFFSET @Offset";
    private const string ListByCreatedDescSql = $"{ListFilters} ORDER BY created_at DESC, id DESC {Page}";
    private const string ListByCreatedAscSql = $"{ListFilters} ORDER BY created_at, id {Page}";
    private const string ListByUpdatedDescSql = $"{ListFilters} ORDER BY updated_at DESC, id DESC {Page}";
    private const string ListByUpdatedAscSql = $"{ListFilters} ORDER BY updated_at, id {Page}";

    /// <summary>
    /// Stores the message as UNSENT, batched with concurrent requests into one statement and one commit; its id, or null
    /// when another message or a batch already holds its idempotency key.
    /// </summary>
    public Task<long?> InsertAsync(NewMessage message) => _inserts.RunAsync(message);

    // In the order a request uses them: its lookup, then its insert.
    public async ValueTask DisposeAsync()
    {
        await _keyLookups.DisposeAsync();
        await _inserts.DisposeAsync();
    }

    private async Task<IReadOnlyList<long?>> InsertBatchAsync(IReadOnlyList<NewMessage> batch)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        return await InsertAsync(connection, null, batch, CancellationToken.None).AsCommit();
    }

    /// <summary>
    /// Stores the messages as UNSENT in one statement, on the caller's connection and transaction; per message its id,
    /// or null when another message or a batch already holds its idempotency key. Their tokens were taken before.
    /// </summary>
    public static async Task<IReadOnlyList<long?>> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        IReadOnlyList<NewMessage> batch, CancellationToken cancellationToken)
    {
        // With keys, the keys' turns first: the two statements go in one round trip, and without a transaction of the
        // caller's in one implicit transaction, which holds the turns until the rows commit.
        var keyed = batch.Any(m => m.IdempotencyKey is not null);
        var command = new CommandDefinition(keyed ? KeyTurnsSql + InsertSql : InsertSql, new
        {
            userIds = batch.Select(m => m.UserId).ToArray(),
            templateIds = batch.Select(m => m.TemplateId).ToArray(),
            recipients = batch.Select(m => m.Recipient).ToArray(),
            @params = batch.Select(m => m.Params).ToArray(),
            languageCodes = batch.Select(m => m.LanguageCode).ToArray(),
            templateNames = batch.Select(m => m.WhatsAppTemplateName).ToArray(),
            paramOrders = batch.Select(m => string.Join(',', m.ParamOrder)).ToArray(),
            nows = batch.Select(m => m.Now).ToArray(),
            expiresAts = batch.Select(m => m.ExpiresAt).ToArray(),
            sweepAts = batch.Select(m => m.SweepAt).ToArray(),
            idempotencyKeys = batch.Select(m => m.IdempotencyKey).ToArray(),
            requestHashes = batch.Select(m => m.RequestHash).ToArray(),
            keyTypes = batch.Select(m => m.KeyType).ToArray(),
            window = Idempotency.Window,
        }, transaction, cancellationToken: cancellationToken);
        if (!keyed)
        {
            return [.. await connection.QueryAsync<long?>(command)];
        }

        await using var results = await connection.QueryMultipleAsync(command);
        await results.ReadAsync();
        return [.. await results.ReadAsync<long?>()];
    }

    /// <summary>The user's messages of this key type with these ids (in no particular order); others are left out.</summary>
    public async Task<IReadOnlyList<MessageRow>> GetManyAsync(long userId, string keyType, long[] ids,
        CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<MessageRow>(
            new CommandDefinition(GetManySql, new { ids, userId, keyType }, cancellationToken: cancellationToken))).ToList();
    }

    public async Task<MessageRow?> GetAsync(long userId, string keyType, long id, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<MessageRow>(
            new CommandDefinition(GetSql, new { id, userId, keyType }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The message and the batch that hold the key, each null when it holds none (only one can be in its window); looked
    /// up with concurrent requests' keys in one round trip.
    /// </summary>
    public Task<KeyHolders> FindKeyHoldersAsync(long userId, string keyType, string key,
        CancellationToken cancellationToken) =>
        _keyLookups.RunAsync((userId, keyType, key)).WaitAsync(cancellationToken);

    /// <summary>
    /// What holds the key, once a request storing a message under it right now (on any Api) has finished: a read does
    /// not see a message whose insert has not committed, so the key is first tried by an insert that waits for it and
    /// is rolled back.
    /// </summary>
    public async Task<KeyHolders> FindKeyHoldersOnceStoredAsync(long userId, string keyType, string key,
        CancellationToken cancellationToken)
    {
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken))
        await using (var attempt = await connection.BeginTransactionAsync(cancellationToken))
        {
            await connection.ExecuteAsync(new CommandDefinition(TryIdempotencyKeySql, new { userId, keyType, key }, attempt,
                cancellationToken: cancellationToken));
            await attempt.RollbackAsync(cancellationToken);
        }

        return await FindKeyHoldersAsync(userId, keyType, key, cancellationToken);
    }

    private async Task<IReadOnlyList<KeyHolders>> FindManyKeyHoldersAsync(IReadOnlyList<(long UserId, string KeyType, string Key)> keys)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        // Dapper maps a holder whose first column (id) is null, as when no row joined, to null.
        return [.. await connection.QueryAsync<long, MessageRow?, BatchRow?, KeyHolders>(FindKeyHoldersSql,
            (_, message, batch) => new KeyHolders(message, batch), new
            {
                userIds = keys.Select(k => k.UserId).ToArray(),
                keyTypes = keys.Select(k => k.KeyType).ToArray(),
                keys = keys.Select(k => k.Key).ToArray(),
            }, splitOn: "id,id")];
    }

    /// <summary>
    /// One page of the user's messages of this key type, plus one more row to tell whether there are more (no counting).
    /// </summary>
    public async Task<(IReadOnlyList<MessageRow> Page, bool HasMore)> ListAsync(long userId, string keyType, ListQuery query,
        CancellationToken cancellationToken)
    {
        var sql = (query.SortColumn, query.Ascending) switch
        {
            ("updated_at", true) => ListByUpdatedAscSql,
            ("updated_at", false) => ListByUpdatedDescSql,
            (_, true) => ListByCreatedAscSql,
            _ => ListByCreatedDescSql,
        };
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        var rows = (await connection.QueryAsync<MessageRow>(new CommandDefinition(sql, new
        {
            UserId = userId,
            KeyType = keyType,
            query.Status,
            query.CreatedAfter,
            query.CreatedFrom,
            query.CreatedBefore,
            query.CreatedUntil,
            Take = query.Limit + 1,
            query.Offset,
        }, cancellationToken: cancellationToken))).ToList();
        var hasMore = rows.Count > query.Limit;
        if (hasMore)
        {
            rows.RemoveAt(rows.Count - 1);
        }

        return (rows, hasMore);
    }

    /// <summary>
    /// Hands the commands of stored messages that the Api could not publish to the Dispatcher's sweep, which publishes
    /// them without waiting for their pick-up deadline; returns how many it took.
    /// </summary>
    public async Task<int> HandToSweepAsync(long[] ids, TimeSpan pickUpDeadline, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(HandToSweepSql, new { ids, pickUpDeadline },
            cancellationToken: cancellationToken));
    }

    /// <summary>Frees a key whose 24 h window has passed so it can name a new message.</summary>
    public async Task ReleaseIdempotencyKeyAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(ReleaseIdempotencyKeySql, new { id }, cancellationToken: cancellationToken));
    }
}
