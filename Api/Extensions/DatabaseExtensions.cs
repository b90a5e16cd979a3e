using GovSg.Api.Database;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Extensions;

public static class DatabaseExtensions
{
    public static IHostApplicationBuilder AddDatabase(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DatabaseLimitOptions>().BindConfiguration(DatabaseLimitOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
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
        });
        builder.Services.AddSingleton<MigrationRunner>();
        return builder;
    }
}
