using Dapper;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// The users an operator has disabled, as read at most <see cref="MaxAge"/> ago. A claim refuses a disabled user's
/// messages, but a claimed message may wait seconds for its turn at the number's pace: a call whose turn comes later
/// than <see cref="MaxAge"/> after its claim asks here first (SPEC §7: no Dispatcher sends a message of a disabled
/// user). One read serves every call that asks within its age, and nothing is read while calls follow their claims.
/// </summary>
public sealed class DisabledUsers(NpgsqlDataSource dataSource, TimeProvider time, ILogger<DisabledUsers> logger) : IDisposable
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(1);

    private const string DisabledSql = "SELECT id FROM users WHERE disabled_at IS NOT NULL";

    private readonly SemaphoreSlim _reading = new(1, 1);
    private volatile Snapshot? _snapshot;

    /// <summary>
    /// Whether the user was disabled as of at most <see cref="MaxAge"/> ago. When that cannot be read, the last list
    /// read answers (tried again a <see cref="MaxAge"/> later): the claim checked the user, and the database the call's
    /// outcome needs is then out of reach too.
    /// </summary>
    public async Task<bool> IsDisabledAsync(long userId, CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is null || time.GetUtcNow() - snapshot.ReadAt > MaxAge)
        {
            snapshot = await ReadAsync(cancellationToken);
        }

        return snapshot.Users.Contains(userId);
    }

    private async Task<Snapshot> ReadAsync(CancellationToken cancellationToken)
    {
        await _reading.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have read it while this one waited.
            if (_snapshot is { } fresh && time.GetUtcNow() - fresh.ReadAt <= MaxAge)
            {
                return fresh;
            }

            var readAt = time.GetUtcNow();
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            var users = await connection.QueryAsync<long>(new CommandDefinition(DisabledSql, cancellationToken: cancellationToken));
            return _snapshot = new Snapshot(readAt, [.. users]);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Any failure here, before the call, must not be taken for one of the call's (which may have sent it).
            logger.LogWarning("Could not read which users are disabled ({Error}); calling on the claim's check", exception.Message);
            return _snapshot = new Snapshot(time.GetUtcNow(), _snapshot?.Users ?? []);
        }
        finally
        {
            _reading.Release();
        }
    }

    public void Dispose() => _reading.Dispose();

    private sealed record Snapshot(DateTimeOffset ReadAt, HashSet<long> Users);
}
