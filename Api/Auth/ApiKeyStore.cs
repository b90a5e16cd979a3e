using Dapper;
using Npgsql;

namespace GovSg.Api.Auth;

public sealed class ApiKeyRow
{
    public long Id { get; init; }
    public long UserId { get; init; }
    public byte[] SecretHash { get; init; } = [];
    public DateTime ValidUntil { get; init; }
    public DateTime? RevokedAt { get; init; }
    public DateTime? KeyDisabledAt { get; init; }
    public DateTime? UserDisabledAt { get; init; }
    public int RateLimitPerSecond { get; init; }
    public int RateLimitBurst { get; init; }
    public string KeyType { get; init; } = "";
    public int DefaultWaitSeconds { get; init; }
    public TimeSpan MessageValidity { get; init; }
}

public sealed class ApiKeyStore(NpgsqlDataSource dataSource)
{
    private const string FindSql = """
        SELECT k.id, k.user_id, k.secret_hash, k.valid_until, k.revoked_at, k.disabled_at AS key_disabled_at,
               u.disabled_at AS user_disabled_at, u.rate_limit_per_second, u.default_wait_seconds, u.message_validity,
               COALESCE(u.rate_limit_burst, LEAST(60 * u.rate_limit_per_second::bigint, 2147483647)::int) AS rate_limit_burst,
               k.type AS key_type
        FROM api_keys k
        JOIN users u ON u.id = k.user_id
        WHERE k.key_id = @keyId
        """;

    private const string TouchSql = "UPDATE api_keys SET last_used_at = @now WHERE id = @id";

    public async Task<ApiKeyRow?> FindAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ApiKeyRow>(
            new CommandDefinition(FindSql, new { keyId }, cancellationToken: cancellationToken));
    }

    public async Task TouchAsync(long id, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(TouchSql, new { id, now }, cancellationToken: cancellationToken));
    }
}
