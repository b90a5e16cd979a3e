using Dapper;
using GovSg.Api.Database;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace GovSg.Tests.Integration;

/// <summary>
/// A database of its own on the test server, migrated to this build's schema, for a test that changes what the shared
/// one must keep (its migrations, its grants); dropped when disposed.
/// </summary>
internal sealed class ScratchDatabase : IAsyncDisposable
{
    private readonly NpgsqlConnection _server;

    private ScratchDatabase(NpgsqlConnection server, string name, NpgsqlDataSource owner)
    {
        _server = server;
        Name = name;
        Owner = owner;
    }

    public string Name { get; }

    /// <summary>The database as the test server's administrator, who owns its schema (as the migrations Job does).</summary>
    public NpgsqlDataSource Owner { get; }

    /// <summary>The connection string of <paramref name="connectionString"/>'s role, on this database.</summary>
    public string As(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = Name, Pooling = false }.ConnectionString;

    public static async Task<ScratchDatabase> CreateAsync(string name)
    {
        var maintenance = new NpgsqlConnectionStringBuilder(TestSettings.Postgres) { Database = "postgres", Pooling = false };
        var server = new NpgsqlConnection(maintenance.ConnectionString);
        await server.OpenAsync();
        await server.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        await server.ExecuteAsync($"CREATE DATABASE {name}");
        var owner = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(TestSettings.Postgres) { Database = name, Pooling = false }.ConnectionString);
        await new MigrationRunner(owner, NullLogger<MigrationRunner>.Instance).MigrateAsync(CancellationToken.None);
        return new ScratchDatabase(server, name, owner);
    }

    public async ValueTask DisposeAsync()
    {
        await Owner.DisposeAsync();
        await _server.ExecuteAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
        await _server.DisposeAsync();
    }
}
