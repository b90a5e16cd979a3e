using Npgsql;

namespace GovSg.Api.Database;

/// <summary>
/// A write whose durable step the database received, or may have, and then did not answer: it may have committed, or
/// may yet (SPEC §8). Only that step raises it — a COMMIT, or a statement run outside a transaction — so a failure before
/// it (a connection that would not open, a pool with none free, a read, a statement of a transaction never committed)
/// still means that nothing was stored.
/// </summary>
public sealed class OutcomeUnknownException(Exception inner)
    : Exception($"The database stopped answering a write that may have committed: {inner.Message}", inner);

public static class WriteOutcome
{
    /// <summary>Awaits the step that makes a request's write durable; see <see cref="OutcomeUnknownException"/>.</summary>
    public static async Task<T> AsCommit<T>(this Task<T> commit)
    {
        try
        {
            return await commit;
        }
        catch (NpgsqlException exception) when (Interrupted(exception))
        {
            throw new OutcomeUnknownException(exception);
        }
    }

    /// <inheritdoc cref="AsCommit{T}"/>
    public static async Task AsCommit(this Task commit)
    {
        try
        {
            await commit;
        }
        catch (NpgsqlException exception) when (Interrupted(exception))
        {
            throw new OutcomeUnknownException(exception);
        }
    }

    /// <summary>
    /// The connection timed out or broke while the statement was out: the server may have run it. A server shutdown
    /// (57P01, 57P02) is not counted: it mostly ends an idle pooled connection, and the next statement reads it before
    /// it runs, so "nothing was stored" is what is true. The rare exception, a COMMIT ended while it waits for a
    /// synchronous standby, is durable locally; the deployment runs no synchronous standby.
    /// </summary>
    private static bool Interrupted(NpgsqlException exception) => exception.InnerException is TimeoutException or IOException;
}
