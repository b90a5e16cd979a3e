using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Dapper;
using Npgsql;

namespace GovSg.LoadGenerator.Ceilings;

/// <summary>
/// PostgreSQL's own <c>pgbench</c> (SPEC §10: a ceiling measured by a tool no one here wrote): autocommitted single-row
/// INSERTs from a custom script into a scratch table shaped like the hot columns of <c>messages</c> — an identity
/// primary key and the (user, created_at) index the list reads use — at the run's concurrency. The real table has
/// more indexes and an accepted POST does more than one statement, so this is the ceiling, not a prediction.
/// </summary>
internal sealed partial class PgbenchCeiling(NpgsqlDataSource dataSource, string connectionString)
{
    private const string CreateSql = """
        DROP TABLE IF EXISTS loadgen_insert_ceiling;
        CREATE TABLE loadgen_insert_ceiling (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id     bigint         NOT NULL,
            template_id bigint         NOT NULL,
            recipient   text           NOT NULL,
            params      jsonb          NOT NULL,
            status      message_status NOT NULL,
            created_at  timestamptz    NOT NULL,
            updated_at  timestamptz    NOT NULL,
            expires_at  timestamptz    NOT NULL
        );
        CREATE INDEX loadgen_insert_ceiling_user_created ON loadgen_insert_ceiling (user_id, created_at DESC, id DESC);
        """;

    private const string DropSql = "DROP TABLE IF EXISTS loadgen_insert_ceiling";

    // One send's row: 100 users, a distinct Singapore mobile number, the officer-call template's six params.
    private const string Script = """
        \set user random(1, 100)
        \set number random(80000000, 99999999)
        INSERT INTO loadgen_insert_ceiling (user_id, template_id, recipient, params, status, created_at, updated_at, expires_at)
        VALUES (:user, 1, '+65' || :number, '{"recipient_name":"Stanley Nguyen","officer_name":"John Tan","officer_designation":"Reception Officer","agency":"Open Government Products","topic":"document collection","timeslot":"1-3PM"}', 'UNSENT', now(), now(), now() + interval '1 day');

        """;

    public async Task<double> MeasureAsync(CeilingOptions options, CancellationToken cancellationToken)
    {
        var scriptFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(scriptFile, Script, cancellationToken);
        await ExecuteAsync(CreateSql, cancellationToken);
        try
        {
            // The warm-up's figure is not used: on a busy machine its connections alone may take longer than it lasts.
            await RunAsync(scriptFile, options.Concurrency, CeilingOptions.Warmup, cancellationToken);
            var output = await RunAsync(scriptFile, options.Concurrency, options.Duration, cancellationToken);
            var tps = Tps().Match(output);
            return tps.Success
                ? double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture)
                : throw new InvalidOperationException($"pgbench printed no tps:\n{output}");
        }
        finally
        {
            // Dropped even when the run is cancelled: the scratch table must not outlive it.
            await ExecuteAsync(DropSql, CancellationToken.None);
            File.Delete(scriptFile);
        }
    }

    /// <summary>Runs pgbench and returns what it printed.</summary>
    private async Task<string> RunAsync(string scriptFile, int clients, TimeSpan duration, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo(Executable())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--no-vacuum", "--file", scriptFile,
                "--client", clients.ToString(CultureInfo.InvariantCulture),
                "--jobs", Math.Min(clients, Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture),
                "--time", Math.Max(1, (int)Math.Round(duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
                "--host", connection.Host ?? "localhost",
                "--port", connection.Port.ToString(CultureInfo.InvariantCulture),
                "--username", connection.Username ?? "govsg",
                connection.Database ?? "govsg",
            },
        };
        start.Environment["PGPASSWORD"] = connection.Password ?? "";
        using var pgbench = Process.Start(start) ?? throw new InvalidOperationException("pgbench did not start");
        var output = pgbench.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = pgbench.StandardError.ReadToEndAsync(cancellationToken);
        await pgbench.WaitForExitAsync(cancellationToken);
        return pgbench.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"pgbench failed ({pgbench.ExitCode}): {await errors}");
    }

    /// <summary>Debian puts pgbench on the PATH through a wrapper; the server's own bin folder is the fallback.</summary>
    private static string Executable() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/lib/postgresql/15/bin")
            .Select(folder => Path.Combine(folder, "pgbench")).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("pgbench not found: install postgresql-client (or postgresql-contrib)");

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(sql, cancellationToken: cancellationToken));
    }

    [GeneratedRegex(@"^tps = ([0-9.]+)", RegexOptions.Multiline)]
    private static partial Regex Tps();
}
