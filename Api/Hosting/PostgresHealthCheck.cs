using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace GovSg.Hosting;

internal sealed class PostgresHealthCheck(NpgsqlDataSource dataSource, HealthStatus whenUnreachable) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            // A refusal (a wrong password, a missing database, too many connections) is not an outage: name its SQLSTATE,
            // and no more, on a probe anyone can read.
            return exception is PostgresException refused
                ? new HealthCheckResult(context.Registration.FailureStatus, $"PostgreSQL refused: {refused.SqlState}", exception)
                : new HealthCheckResult(whenUnreachable, "PostgreSQL is unreachable", exception);
        }
    }
}
