using System.Reflection;
using Dapper;
using Npgsql;

namespace GovSg.Api.Database;

/// <summary>
/// Applies the numbered scripts in <c>Database/Migrations</c> in order, each once, each in its own transaction, then
/// <c>Database/grants.sql</c> (every run: it sets the service roles' privileges on every table from scratch, so tables
/// a migration added get theirs and nothing else keeps any). An advisory lock lets several replicas (or a Job and a
/// developer) run it at once safely. A database that a newer build has migrated is left as it is.
/// </summary>
public sealed class MigrationRunner(NpgsqlDataSource dataSource, ILogger<MigrationRunner> logger)
{
    private const long AdvisoryLockKey = 7_305_117_001;
    private const string ResourcePrefix = "GovSg.Api.Database.Migrations.";
    public const string GrantsResource = "GovSg.Api.Database.grants.sql";

    private const string CreateHistorySql = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    text PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """;

    private const string AppliedSql = "SELECT version FROM schema_migrations";

    private const string RecordSql = "INSERT INTO schema_migrations (version) VALUES (@version)";

    /// <summary>
    /// The longest a migration waits for a lock. A statement waiting for a table's lock (an ALTER TABLE behind a long
    /// query) makes every later statement on that table wait behind it: without a bound, a full outage for as long as the
    /// query runs. Past it the migration steps back, lets the traffic through for <see cref="LockRetryDelay"/>, and
    /// tries again, up to <see cref="LockAttempts"/> times (about 7 minutes, within the Job's 10).
    /// </summary>
    internal static readonly TimeSpan LockWait = TimeSpan.FromSeconds(2);

    internal static readonly TimeSpan LockRetryDelay = TimeSpan.FromSeconds(5);

    private const int LockAttempts = 60;

    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_lock(@key)", new { key = AdvisoryLockKey }, cancellationToken: cancellationToken));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(CreateHistorySql, cancellationToken: cancellationToken));
            var applied = (await connection.QueryAsync<string>(
                new CommandDefinition(AppliedSql, cancellationToken: cancellationToken))).ToHashSet();
            var scripts = Scripts().ToList();
            RefuseANewerSchema(applied, scripts.Select(s => s.Version));

            var count = 0;
            foreach (var (version, sql) in scripts.Where(s => !applied.Contains(s.Version)))
            {
                await ApplyAsync(connection, version, sql, version, cancellationToken);
                logger.LogInformation("Applied migration {Version}", version);
                count++;
            }

            await ApplyAsync(connection, "grants", Grants(), null, cancellationToken);

            logger.LogInformation("Database is at the latest schema; {Count} migration(s) applied; grants applied", count);
            return count;
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "SELECT pg_advisory_unlock(@key)", new { key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
        }
    }

    // Every identity column's sequence in the schema, so a table added later is covered without a change here.
    private const string SkipIdsSql = """
        SELECT s.sequence::text AS "Sequence",
               setval(s.sequence, COALESCE(pg_sequence_last_value(s.sequence), 0) + @count) + 1 AS "Next"
        FROM (SELECT pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)::regclass AS sequence
              FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE a.attidentity <> '' AND NOT a.attisdropped AND n.nspname = current_schema()) s
        ORDER BY 1
        """;

    /// <summary>
    /// Moves every id sequence on by <paramref name="count"/>, for a database restored from a backup or a standby that
    /// had not received the last writes before it was promoted: ids issued since (a message's, which an agency holds
    /// and which Meta's statuses name; a callback event's, by which agencies drop repeats) must not be issued again to
    /// something else. Returns each sequence with the next id it gives.
    /// </summary>
    public async Task<IReadOnlyList<(string Sequence, long Next)>> SkipIdsAsync(long count, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<(string, long)>(new CommandDefinition(SkipIdsSql, new { count },
            cancellationToken: cancellationToken))).ToList();
    }

    /// <summary>
    /// Stops before anything is changed when a newer build has migrated the database: its grants are not this build's to
    /// take back (the older grants once made every newer pod unready at once, in a rollback that ran the older Job), and
    /// its schema works with the release before it without any step back (deploy/k8s/README.md, "Rolling back").
    /// </summary>
    private static void RefuseANewerSchema(IEnumerable<string> applied, IEnumerable<string> known)
    {
        var newer = applied.Except(known).Order(StringComparer.Ordinal).ToList();
        if (newer.Count > 0)
        {
            throw new InvalidOperationException(
                $"A newer build has migrated this database (migration {string.Join(", ", newer)} is not in this build); " +
                "nothing was changed. Migrations only go forward: to roll back, roll back the services' images without " +
                "running an older migrate");
        }
    }

    /// <summary>
    /// Runs <paramref name="sql"/> in a transaction of its own, and records <paramref name="version"/> in it when given,
    /// waiting at most <see cref="LockWait"/> for each lock (and trying again after <see cref="LockRetryDelay"/>).
    /// </summary>
    internal async Task ApplyAsync(NpgsqlConnection connection, string name, string sql, string? version,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    $"SET LOCAL lock_timeout = {(long)LockWait.TotalMilliseconds}", transaction: transaction,
                    cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction,
                    cancellationToken: cancellationToken));
                if (version is not null)
                {
                    await connection.ExecuteAsync(new CommandDefinition(RecordSql, new { version }, transaction,
                        cancellationToken: cancellationToken));
                }

                await transaction.CommitAsync(cancellationToken);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable && attempt < LockAttempts)
            {
                await transaction.RollbackAsync(cancellationToken);
                logger.LogWarning("{Name} waited {Wait} s for a lock another session holds; trying again in {Delay} s (attempt {Attempt} of {Attempts})",
                    name, LockWait.TotalSeconds, LockRetryDelay.TotalSeconds, attempt, LockAttempts);
                await Task.Delay(LockRetryDelay, cancellationToken);
            }
        }
    }

    /// <summary>The grants script: which role may do what on each table.</summary>
    public static string Grants()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(GrantsResource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    internal static IEnumerable<(string Version, string Sql)> Scripts()
    {
        var assembly = Assembly.GetExecutingAssembly();
        foreach (var name in assembly.GetManifestResourceNames()
                     .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            yield return (Path.GetFileNameWithoutExtension(name[ResourcePrefix.Length..]), reader.ReadToEnd());
        }
    }
}
