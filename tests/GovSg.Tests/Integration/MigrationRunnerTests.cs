using System.Diagnostics;
using Dapper;
using GovSg.Api.Database;
using Microsoft.Extensions.Logging.Abstractions;

namespace GovSg.Tests.Integration;

/// <summary>How a release's migrations meet the traffic already running on the tables they change.</summary>
public sealed class MigrationRunnerTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task Migration_BehindALongQuery_StepsBackInsteadOfHoldingUpEveryStatementOnTheTable()
    {
        // An ALTER TABLE waits for a long query's lock, and every later statement on the table waits behind the ALTER:
        // unbounded, that is an outage of the table for as long as the query runs, the Job's 10 minutes at worst.
        var table = $"migration_probe_{Guid.NewGuid():N}";
        await using var connection = await Env.Database.OpenConnectionAsync();
        await connection.ExecuteAsync($"CREATE TABLE {table} (id int)");
        var runner = new MigrationRunner(Env.Database, NullLogger<MigrationRunner>.Instance);
        var longQueryFor = MigrationRunner.LockWait * 3;

        await using var longQuery = await Env.Database.OpenConnectionAsync();
        await using var reading = await longQuery.BeginTransactionAsync();
        await longQuery.ExecuteAsync($"SELECT count(*) FROM {table}", transaction: reading);
        await using var migrating = await Env.Database.OpenConnectionAsync();
        var migration = runner.ApplyAsync(migrating, "probe", $"ALTER TABLE {table} ADD COLUMN added int", null, CancellationToken.None);
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        // Traffic on the table while the long query still runs.
        var clock = Stopwatch.StartNew();
        await using var traffic = await Env.Database.OpenConnectionAsync();
        // Without the bound it would wait for the long query, which this test ends only afterwards: cut at 5 s.
        await traffic.ExecuteAsync($"INSERT INTO {table} (id) VALUES (1)", commandTimeout: 5);
        var trafficWaited = clock.Elapsed;
        var longQueryStillRan = clock.Elapsed < longQueryFor;
        await Task.Delay(longQueryFor - clock.Elapsed > TimeSpan.Zero ? longQueryFor - clock.Elapsed : TimeSpan.Zero);
        await reading.CommitAsync();
        await migration.WaitAsync(MigrationRunner.LockWait + MigrationRunner.LockRetryDelay * 2);

        Assert.That(longQueryStillRan, Is.True, "the insert came while the long query held its lock");
        Assert.That(trafficWaited, Is.LessThan(MigrationRunner.LockWait + TimeSpan.FromSeconds(1)),
            "the insert waited at most the migration's lock wait, not the whole long query");
        Assert.That(await connection.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = @table AND column_name = 'added'", new { table }),
            Is.EqualTo(1), "the migration applied once the long query ended");
        await connection.ExecuteAsync($"DROP TABLE {table}");
    }

    [Test]
    public async Task Migrate_OnADatabaseANewerBuildMigrated_RefusesAndChangesNothing()
    {
        // A rollback that ran the older release's migrations Job, as a rollout does: the older grants took back the
        // services' read of schema_migrations, and every newer pod turned unready at once, before any older pod existed.
        // Found by an outside rollout rehearsal. The grant below stands for the newer build's grants, which this build's
        // script would replace.
        await using var ahead = await ScratchDatabase.CreateAsync("govsg_schema_ahead");
        await using var connection = await ahead.Owner.OpenConnectionAsync();
        await connection.ExecuteAsync("INSERT INTO schema_migrations (version) VALUES ('9999_from_a_newer_build')");
        await connection.ExecuteAsync($"GRANT SELECT ON callback_secrets TO {DatabaseRoles.Api.Name}");
        var applied = await connection.QueryAsync<string>("SELECT version FROM schema_migrations ORDER BY version");

        var refused = Assert.ThrowsAsync<InvalidOperationException>(() =>
            new MigrationRunner(ahead.Owner, NullLogger<MigrationRunner>.Instance).MigrateAsync(CancellationToken.None));

        Assert.That(refused!.Message, Does.Contain("9999_from_a_newer_build").And.Contain("roll back the services' images"));
        Assert.That(await connection.QueryAsync<string>("SELECT version FROM schema_migrations ORDER BY version"),
            Is.EqualTo(applied), "no migration recorded");
        Assert.That(await connection.ExecuteScalarAsync<bool>(
            $"SELECT has_column_privilege('{DatabaseRoles.Api.Name}', 'callback_secrets', 'secret', 'SELECT')"),
            Is.True, "the grants left as the newer build made them");
    }
}
