using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// The number's <see cref="PaceState"/> in <c>provider_pace</c>. A change is one guarded UPDATE, written only over the
/// row version it was computed from (<see cref="PaceState.Revision"/>), so dispatchers change the schedule one after
/// the other without holding the row's lock across round trips; a change that leaves the state as it was writes
/// nothing.
/// </summary>
public sealed class PaceStore(NpgsqlDataSource dataSource, IOptions<WhatsAppOptions> options, TimeProvider time)
{
    // xmin changes with every write of the row, whoever makes it (also a dispatcher of an earlier release, which locks
    // the row instead), unlike version, which counts only reservations. Read as text, then bigint: Npgsql has no
    // default mapping that writes an xid parameter.
    private const string Columns = """
        next_slot AS "NextSlot", throttled_rate AS "ThrottledRate", throttled_at AS "ThrottledAt",
        throttled_slot AS "ThrottledSlot", version AS "Version", xmin::text::bigint AS "Revision"
        """;

    private const string ReadSql = $"""
        SELECT {Columns} FROM provider_pace WHERE phone_number_id = @number
        """;

    // The database's clock, which the schedule runs on (ProviderGate), read in the same round trip.
    private const string ReadWithClockSql = $"""
        SELECT clock_timestamp();
        {ReadSql}
        """;

    private const string InsertSql = """
        INSERT INTO provider_pace (phone_number_id, next_slot, throttled_rate, throttled_at, throttled_slot, version)
        VALUES (@number, @NextSlot, @ThrottledRate, @ThrottledAt, @ThrottledSlot, @Version)
        ON CONFLICT (phone_number_id) DO NOTHING
        """;

    // The row as written, or, when it changed since @Revision, as it is now. "Now" is the statement's snapshot: a
    // change committed while this statement waited for the row is not in it, so the caller may meet its revision again.
    private const string WriteSql = $"""
        WITH written AS (
            UPDATE provider_pace
            SET next_slot = @NextSlot, throttled_rate = @ThrottledRate, throttled_at = @ThrottledAt,
                throttled_slot = @ThrottledSlot, version = @Version
            WHERE phone_number_id = @number AND xmin::text::bigint = @Revision
            RETURNING {Columns}
        )
        SELECT *, true AS "Written" FROM written
        UNION ALL
        SELECT {Columns}, false FROM provider_pace
        WHERE phone_number_id = @number AND NOT EXISTS (SELECT FROM written)
        """;

    private readonly string _number = options.Value.PhoneNumberId;

    /// <summary>
    /// Applies <paramref name="change"/> to the stored state, starting from <paramref name="seen"/>, the state last seen
    /// (when there is none it is read; <paramref name="initial"/> is stored the first time ever). If the schedule
    /// changed since, the change is applied again to the newer state, so <paramref name="change"/> must depend on the
    /// state alone: only the result of the attempt that was written, or that found nothing to change in the stored
    /// state, is returned, with the state stored now.
    /// </summary>
    public async Task<(PaceState State, T Result)> ChangeAsync<T>(PaceState? seen, PaceState initial,
        Func<PaceState, (PaceState State, T Result)> change, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var current = seen ?? await StoredAsync(connection, initial, cancellationToken);
        var stored = seen is null;
        while (true)
        {
            var (next, result) = change(current);
            if (next == current)
            {
                if (stored)
                {
                    return (current, result);
                }

                // The state last seen may be old: that it needs no change says nothing about the stored one.
                current = await StoredAsync(connection, initial, cancellationToken);
            }
            else
            {
                var row = await WriteAsync(connection, next, current.Revision, cancellationToken);
                if (row is { Written: true })
                {
                    return (row.State, result);
                }

                // Another change came first: this one is made again on the state it left (read again if it is gone).
                current = row?.State ?? await StoredAsync(connection, initial, cancellationToken);
            }

            stored = true;
        }
    }

    /// <summary>
    /// The stored state, read without waiting for the row's lock (null before the first reservation), and the
    /// database's clock read with it, timed from after the connection is open (the wait for one would make the round trip
    /// lopsided).
    /// </summary>
    public async Task<PaceReading> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var started = time.GetTimestamp();
        await using var results = await connection.QueryMultipleAsync(new CommandDefinition(ReadWithClockSql,
            new { number = _number }, cancellationToken: cancellationToken));
        var remote = await results.ReadSingleAsync<DateTime>();
        var clock = new ClockReading(time.GetElapsedTime(started), remote, time.GetUtcNow().UtcDateTime);
        return new PaceReading(await results.ReadSingleOrDefaultAsync<PaceState>(), clock);
    }

    private Task<PaceState?> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<PaceState>(new CommandDefinition(ReadSql, new { number = _number },
            cancellationToken: cancellationToken));

    /// <summary>The stored state; the first time ever, <paramref name="initial"/> is stored first.</summary>
    private async Task<PaceState> StoredAsync(NpgsqlConnection connection, PaceState initial, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (await ReadAsync(connection, cancellationToken) is { } state)
            {
                return state;
            }

            await connection.ExecuteAsync(new CommandDefinition(InsertSql, Row(initial), cancellationToken: cancellationToken));
        }
    }

    private async Task<StoredRow?> WriteAsync(NpgsqlConnection connection, PaceState next, long revision,
        CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<PaceState, bool, StoredRow>(
            new CommandDefinition(WriteSql, Row(next with { Revision = revision }), cancellationToken: cancellationToken),
            (state, written) => new StoredRow(state, written), splitOn: "Written");
        return rows.SingleOrDefault();
    }

    private object Row(PaceState state) => new
    {
        number = _number,
        state.NextSlot,
        state.ThrottledRate,
        state.ThrottledAt,
        state.ThrottledSlot,
        state.Version,
        state.Revision,
    };

    /// <summary>The stored state (null before the first reservation) and the database's clock read with it.</summary>
    public sealed record PaceReading(PaceState? State, ClockReading Clock);

    /// <summary>The row after a write: the state written, or, when another change came first, the state stored.</summary>
    private sealed record StoredRow(PaceState State, bool Written);
}
