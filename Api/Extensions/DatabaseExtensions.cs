using GovSg.Api.Database;
using GovSg.Hosting;
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
                var settings = dataSource.ConnectionStringBuilder;
                settings.Options = $"{settings.Options} -c statement_timeout={(long)timeout.TotalMilliseconds}".TrimStart();
                // A server that stops answering (frozen, or cut off by the network) cannot enforce statement_timeout. The
                // Api then gives up a second after the server would have, waits half a second for a cancellation (enough
                // for a server that answers to end the statement of a request whose client went away, so its connection
                // stays in the pool) and no longer than the timeout for a connection, so a request still ends in 503
                // within seconds rather than after Npgsql's 15 s to connect, 30 s a command and 2 s a cancellation. A
                // connection string that names its own figures keeps them.
                var seconds = (int)Math.Ceiling(timeout.TotalSeconds);
                var named = (string keyword) => HostingExtensions.Names(dataSource.ConnectionString, keyword);
                if (!named("Command Timeout"))
                {
                    settings.CommandTimeout = seconds + 1;
                }

                if (!named("Cancellation Timeout"))
                {
                    settings.CancellationTimeout = 500;
                }

                if (!named("Timeout"))
                {
                    settings.Timeout = seconds;
                }
            }
        }, whenUnreachable: HealthStatus.Degraded);
        builder.Services.AddSingleton<MigrationRunner>();
        return builder;
    }
}
