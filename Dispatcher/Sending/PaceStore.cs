using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// The number's <see cref="PaceState"/> in <c>provider_pace</c>. Each change runs under the row's lock, so dispatchers
/// change the schedule one at a time; a change that leaves the state as it was writes nothing.
/// </summary>
public sealed class PaceStore(NpgsqlDataSource dataSource, IOptions<WhatsAppOptions> options)
{
    private const string ReadSql = """
        SELECT next_slot AS "NextSlot", throttled_rate AS "ThrottledRate", throttled_at AS "ThrottledAt",
               throttled_slot AS "ThrottledSlot", version AS "Version"
        FROM provider_pace WHERE phone_number_id = @number
        """;

    private const string LockSql = ReadSql + " FOR UPDATE";

    private const string InsertSql = """
        INSERT INTO provider_pace (phone_number_id, next_slot, throttled_rate, throttled_at, throttled_slot, version)
        VALUES (@number, @NextSlot, @ThrottledRate, @ThrottledAt, @ThrottledSlot, @Version)
        ON CONFLICT (phone_number_id) DO NOTHING
        """;

    private const string UpdateSql = """
        UPDATE provider_pace
        SET next_slot = @NextSlot, throttled_rate = @ThrottledRate, throttled_at = @ThrottledAt,
            throttled_slot = @ThrottledSlot, version = @Version
        WHERE phone_number_id = @number
        """;

    private readonly string _number = options.Value.PhoneNumberId;

    /// <summary>Applies <paramref name="change"/> to the stored state (<paramref name="initial"/> the first time ever).</summary>
    public async Task<T> ChangeAsync<T>(PaceState initial, Func<PaceState, (PaceState State, T Result)> change,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var current = await LockAsync(connection, transaction, cancellationToken);
        if (current is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(InsertSql, Row(initial), transaction,
                cancellationToken: cancellationToken));
            current = await LockAsync(connection, transaction, cancellationToken) ?? initial;
        }

        var (next, result) = change(current);
        if (next != current)
        {
            await connection.ExecuteAsync(new CommandDefinition(UpdateSql, Row(next), transaction,
                cancellationToken: cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>The stored state, read without waiting for the row's lock; null before the first reservation.</summary>
    public async Task<PaceState?> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<PaceState>(new CommandDefinition(ReadSql, new { number = _number },
            cancellationToken: cancellationToken));
    }

    private Task<PaceState?> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<PaceState>(new CommandDefinition(LockSql, new { number = _number },
            transaction, cancellationToken: cancellationToken));

    private object Row(PaceState state) =>
        new { number = _number, state.NextSlot, state.ThrottledRate, state.ThrottledAt, state.ThrottledSlot, state.Version };
}
