using Dapper;
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
    byte[]? RequestHash);

public sealed class MessageStore(NpgsqlDataSource dataSource)
{
    public const string Columns = """
        id, recipient, template_id, params::text AS params, language_code, created_at, updated_at, accepted_at,
        sent_at, delivered_at, read_at, errored_at, error_code, error_description, status::text AS status
        """;

    private const string InsertSql = """
        INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name,
                              param_order, created_at, updated_at, idempotency_key, request_hash, expires_at,
                              available_at, sweep_at)
        VALUES (@UserId, @TemplateId, @Recipient, @Params::jsonb, @LanguageCode, @WhatsAppTemplateName,
                @ParamOrder, @Now, @Now, @IdempotencyKey, @RequestHash, @ExpiresAt, @Now, @SweepAt)
        ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id
        """;

    private const string GetSql = $"SELECT {Columns} FROM messages WHERE id = @id AND user_id = @userId";

    private const string FindByIdempotencyKeySql = $"""
        SELECT {Columns}, request_hash FROM messages WHERE user_id = @userId AND idempotency_key = @key
        """;

    private const string ReleaseIdempotencyKeySql = """
        UPDATE messages SET idempotency_key = NULL WHERE id = @id AND idempotency_key IS NOT NULL
        """;

    /// <summary>Stores the message as UNSENT; null when another message already holds its idempotency key.</summary>
    public async Task<long?> InsertAsync(NewMessage message, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<long?>(
            new CommandDefinition(InsertSql, message, cancellationToken: cancellationToken));
    }

    public async Task<MessageRow?> GetAsync(long userId, long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<MessageRow>(
            new CommandDefinition(GetSql, new { id, userId }, cancellationToken: cancellationToken));
    }

    public async Task<MessageRow?> FindByIdempotencyKeyAsync(long userId, string key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<MessageRow>(
            new CommandDefinition(FindByIdempotencyKeySql, new { userId, key }, cancellationToken: cancellationToken));
    }

    /// <summary>Frees a key whose 24 h window has passed so it can name a new message.</summary>
    public async Task ReleaseIdempotencyKeyAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(ReleaseIdempotencyKeySql, new { id }, cancellationToken: cancellationToken));
    }
}
