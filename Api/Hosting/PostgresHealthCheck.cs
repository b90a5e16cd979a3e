using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace GovSg.Hosting;

internal sealed class PostgresHealthCheck(NpgsqlDataSource dataSource, HealthStatus whenUnreachable) : IHealthCheck
{
    /// <summary>
    /// The longest the check waits for PostgreSQL: less than the readiness probe's 3 s, so a database that hangs (a
    /// partition, a fail-over) is reported in time rather than failing the probe. Npgsql would wait its own connect
    /// timeout (15 s), and a cancelled query waits for its cancel request too, so the wait is cut from outside.
    /// </summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var query = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            // A server that answers but takes no writes (a fail-over's old primary, a server put read-only) refuses every
            // send and claim (SQLSTATE 25006): an outage too, named as one. A schema behind this build is a rollout
            // that ran ahead of its migration: not an outage, and not ready.
            var (takesWrites, migrated) = await ReadAsync(query.Token).WaitAsync(Timeout, cancellationToken);
            return (takesWrites, migrated) switch
            {
                (_, false) => new HealthCheckResult(context.Registration.FailureStatus,
                    $"PostgreSQL's schema is behind this build (no migration {SchemaVersion.Required}): run migrate"),
                (false, _) => new HealthCheckResult(whenUnreachable, "PostgreSQL takes no writes (read-only)"),
                _ => HealthCheckResult.Healthy(),
            };
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // A refusal names its SQLSTATE, and no more, on a probe anyone can read. A server restarting or full is an
            // outage like one that cannot be reached; one that refuses our login (a wrong password, a missing database)
            // is a misconfiguration. So is a read of schema_migrations refused: the grants are an older build's (this
            // build's come with its migrate), the usual sign of a release whose migrations Job did not run.
            return exception switch
            {
                PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } => new HealthCheckResult(
                    context.Registration.FailureStatus,
                    $"PostgreSQL refused: {PostgresErrorCodes.InsufficientPrivilege} (permission denied): run this build's migrate, which applies its grants",
                    exception),
                PostgresException refused => new HealthCheckResult(
                    PostgresRefusals.IsPassing(refused) ? whenUnreachable : context.Registration.FailureStatus,
                    $"PostgreSQL refused: {refused.SqlState}", exception),
                TimeoutException => new HealthCheckResult(whenUnreachable,
                    $"PostgreSQL did not answer within {Timeout.TotalSeconds:0} s", exception),
                _ => new HealthCheckResult(whenUnreachable, "PostgreSQL is unreachable", exception),
            };
        }
        finally
        {
            // A query still waiting is cancelled once the answer is known, and on another thread: Npgsql sends PostgreSQL
            // its cancel request synchronously on the thread that cancels and waits for the server to hang up. Cancelled
            // by a timer, it held a pool thread just as the timeout's own timer fell due, and the answer came late.
            _ = query.CancelAsync().ContinueWith(static (_, source) => ((CancellationTokenSource)source!).Dispose(), query,
                CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    private async Task<(bool TakesWrites, bool Migrated)> ReadAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT current_setting('transaction_read_only') = 'off',
                   EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SchemaVersion.Required });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetBoolean(0), reader.GetBoolean(1));
    }
}
