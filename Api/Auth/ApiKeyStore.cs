using Dapper;
using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Api.Auth;

public sealed class ApiKeyRow
{
    public string KeyId { get; init; } = "";
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

/// <summary>
/// API keys as the verifier needs them. A look-up runs only when a key id is not cached, but ids nobody issued are free
/// to make up: concurrent look-ups share one statement (<see cref="Batcher{TItem,TResult}"/>), so a flood of made-up
/// ids costs the database a statement per few hundred of them and holds at most two of the Api's connections.
/// </summary>
public sealed class ApiKeyStore : IAsyncDisposable
{
    private const string FindSql = """
        SELECT k.key_id, k.id, k.user_id, k.secret_hash, k.valid_until, k.revoked_at, k.disabled_at AS key_disabled_at,
               u.disabled_at AS user_disabled_at, u.rate_limit_per_second, u.default_wait_seconds, u.message_validity,
               COALESCE(u.rate_limit_burst, LEAST(60 * u.rate_limit_per_second::bigint, 2147483647)::int) AS rate_limit_burst,
               k.type AS key_type
        FROM api_keys k
        JOIN users u ON u.id = k.user_id
        WHERE k.key_id = ANY(@keyIds)
        """;

    private const string TouchSql = "UPDATE api_keys SET last_used_at = @now WHERE id = @id";

    private readonly NpgsqlDataSource _dataSource;
    private readonly Batcher<string, ApiKeyRow?> _finds;

    public ApiKeyStore(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
        _finds = new Batcher<string, ApiKeyRow?>(FindManyAsync, maxBatch: 500, concurrency: 2);
    }

    public Task<ApiKeyRow?> FindAsync(string keyId, CancellationToken cancellationToken) =>
        _finds.RunAsync(keyId).WaitAsync(cancellationToken);

    public async Task TouchAsync(long id, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(TouchSql, new { id, now }, cancellationToken: cancellationToken));
    }

    public ValueTask DisposeAsync() => _finds.DisposeAsync();

    private async Task<IReadOnlyList<ApiKeyRow?>> FindManyAsync(IReadOnlyList<string> keyIds)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        var found = (await connection.QueryAsync<ApiKeyRow>(FindSql, new { keyIds = keyIds.Distinct().ToArray() }))
            .ToDictionary(row => row.KeyId, StringComparer.Ordinal);
        return [.. keyIds.Select(id => found.GetValueOrDefault(id))];
    }
}
