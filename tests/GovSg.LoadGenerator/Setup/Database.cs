using Npgsql;

namespace GovSg.LoadGenerator.Setup;

internal static class Database
{
    // The tool's own queries (progress polls, user set-up) run beside the concurrent workers.
    private const int SpareConnections = 4;

    /// <summary>One pool for the whole run, large enough that concurrent workers never wait for a connection.</summary>
    public static NpgsqlDataSource Create(string connectionString, int concurrentWorkers)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.MaxPoolSize = Math.Max(builder.MaxPoolSize, concurrentWorkers + SpareConnections);
        return new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
    }
}
