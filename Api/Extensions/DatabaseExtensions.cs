using Dapper;
using GovSg.Api.Database;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Api.Extensions;

public static class DatabaseExtensions
{
    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        builder.Services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<DatabaseLimitOptions>().BindConfiguration(DatabaseLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp =>
        {
            var dataSource = new NpgsqlDataSourceBuilder(sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Postgres)
                .UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>());
            // Nothing here changes session state, so the DISCARD ALL a pooled connection would send on every return is
            // pure overhead: it was the most frequent statement on the send path.
            dataSource.ConnectionStringBuilder.NoResetOnClose = true;
            var timeout = sp.GetRequiredService<IOptions<DatabaseLimitOptions>>().Value.StatementTimeout;
            if (timeout > TimeSpan.Zero)
            {
                // Sent once per physical connection at startup, so it costs no round trip per statement.
                var options = dataSource.ConnectionStringBuilder.Options;
                dataSource.ConnectionStringBuilder.Options =
                    $"{options} -c statement_timeout={(long)timeout.TotalMilliseconds}".TrimStart();
            }

            return dataSource.Build();
        });
        builder.Services.AddSingleton<MigrationRunner>();
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);
        return builder;
    }
}
