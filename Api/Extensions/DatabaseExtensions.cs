using GovSg.Api.Database;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Extensions;

public static class DatabaseExtensions
{
    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DatabaseLimitOptions>().BindConfiguration(DatabaseLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        // While the database is away the Api answers 503 service_unavailable itself (SPEC §8) and hands webhooks to the
        // broker, which needs no database: it stays in the load balancer, degraded. A refusal is a misconfiguration,
        // and leaves it unready, so a rollout stops at its first new pod; so is a database this process has never
        // reached (Readiness).
        builder.AddPostgres((sp, dataSource) =>
        {
            var timeout = sp.GetRequiredService<IOptions<DatabaseLimitOptions>>().Value.StatementTimeout;
            if (timeout > TimeSpan.Zero)
            {
                // Sent once per physical connection at startup, so it costs no round trip per statement.
                var options = dataSource.ConnectionStringBuilder.Options;
                dataSource.ConnectionStringBuilder.Options =
                    $"{options} -c statement_timeout={(long)timeout.TotalMilliseconds}".TrimStart();
            }
        }, whenUnreachable: HealthStatus.Degraded);
        builder.Services.AddSingleton<MigrationRunner>();
        return builder;
    }
}
