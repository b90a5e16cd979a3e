using System.Text.RegularExpressions;
using Dapper;
using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Tests.Integration.Security;

/// <summary>
/// Least privilege in PostgreSQL: each part connects as its own role with only the grants of Api/Database/grants.sql.
/// The harness runs its Api and Dispatchers as their roles, so the rest of the suite proves the grants are enough;
/// these tests prove they are no more than that, and that no table is left without a decision.
/// </summary>
public sealed partial class DatabaseGrantsTests
{
    private const string PermissionDenied = "42501";

    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task GrantsScript_NamesEveryTableTheMigrationsCreate()
    {
        await using var connection = await Env.Database.OpenConnectionAsync();
        var tables = await connection.QueryAsync<string>("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");

        Assert.That(tables, Is.Not.Empty);
        Assert.That(tables.Except(TablesNamedByTheGrantsScript()), Is.Empty,
            "every table needs a grant decision in Api/Database/grants.sql (GRANTs for the roles that use it, or a REVOKE)");
    }

    [TestCase("UPDATE provider_pace SET next_slot = now() + interval '1 hour'")]
    [TestCase("DELETE FROM pending_status_events")]
    [TestCase("DELETE FROM messages WHERE id = -1")]
    [TestCase("UPDATE users SET disabled_at = NULL WHERE id = -1")]
    [TestCase("UPDATE api_keys SET secret_hash = '\\x00' WHERE id = -1")]
    [TestCase("UPDATE api_keys SET user_id = 1 WHERE id = -1")]
    [TestCase("INSERT INTO template_grants (user_id, template_id, granted_at) VALUES (-1, 1, now())")]
    [TestCase("UPDATE templates SET body = 'phishing' WHERE id = -1")]
    [TestCase("DELETE FROM schema_migrations WHERE version = ''")]
    [TestCase("CREATE TABLE intruder (id int)")]
    [TestCase("UPDATE callback_secrets SET secret = 'whsec_known' WHERE id = -1")]
    [TestCase("SELECT secret FROM callback_secrets WHERE id = -1")]
    [TestCase("UPDATE messages SET status = 'READ' WHERE id = -1")]
    [TestCase("UPDATE messages SET recipient = '+6591234567', user_id = 1 WHERE id = -1")]
    [TestCase("DELETE FROM status_events WHERE id = -1")]
    public async Task ApiRole_OutsideWhatTheApiDoes_IsRefused(string statement) =>
        Assert.That(await SqlStateAsync(TestSettings.ApiPostgres, statement), Is.EqualTo(PermissionDenied));

    [TestCase("SELECT count(*) FROM api_keys")]
    [TestCase("SELECT key_id FROM api_keys WHERE id = -1")]
    [TestCase("SELECT email FROM users WHERE id = -1")]
    [TestCase("SELECT count(*) FROM templates")]
    [TestCase("INSERT INTO messages (user_id, template_id, recipient, params, language_code, whatsapp_template_name, param_order, created_at, updated_at, expires_at, available_at, sweep_at) VALUES (1, 1, '+6591234567', '{}', 'en_GB', 'x', '{}', now(), now(), now(), now(), now())")]
    [TestCase("DELETE FROM messages WHERE id = -1")]
    [TestCase("UPDATE users SET disabled_at = NULL WHERE id = -1")]
    [TestCase("SELECT count(*) FROM rate_limit_buckets")]
    [TestCase("SELECT count(*) FROM message_batches")]
    public async Task DispatcherRole_OutsideWhatTheDispatcherDoes_IsRefused(string statement) =>
        Assert.That(await SqlStateAsync(TestSettings.DispatcherPostgres, statement), Is.EqualTo(PermissionDenied));

    [TestCase("SELECT count(*) FROM message_batches")]
    [TestCase("DELETE FROM messages WHERE id = -1")]
    [TestCase("UPDATE api_keys SET secret_hash = '\\x00' WHERE id = -1")]
    [TestCase("SELECT count(*) FROM pending_status_events")]
    [TestCase("UPDATE callback_secrets SET secret = 'whsec_known' WHERE id = -1")]
    [TestCase("SELECT secret FROM callback_secrets WHERE id = -1")]
    [TestCase("DELETE FROM status_events WHERE id = -1")]
    public async Task OperatorRole_OutsideWhatTheCliDoes_IsRefused(string statement) =>
        Assert.That(await SqlStateAsync(TestSettings.OperatorPostgres, statement), Is.EqualTo(PermissionDenied));

    [Test]
    public async Task Roles_ReadWhatTheyUse()
    {
        Assert.That(await SqlStateAsync(TestSettings.ApiPostgres, "SELECT count(*) FROM api_keys"), Is.Null);
        Assert.That(await SqlStateAsync(TestSettings.DispatcherPostgres, "SELECT count(*) FROM users WHERE disabled_at IS NOT NULL"),
            Is.Null);
        Assert.That(await SqlStateAsync(TestSettings.OperatorPostgres, "SELECT count(*) FROM template_grants"), Is.Null);
    }

    [Test]
    public async Task Migrate_RunAgain_ChangesNoGrant()
    {
        const string privileges = """
            SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
            WHERE grantee LIKE 'govsg\_%'
            UNION ALL
            SELECT grantee, table_name || '.' || column_name, privilege_type FROM information_schema.column_privileges
            WHERE grantee LIKE 'govsg\_%'
            ORDER BY 1, 2, 3
            """;
        await using var connection = await Env.Database.OpenConnectionAsync();
        var before = (await connection.QueryAsync<(string, string, string)>(privileges)).ToList();

        await new MigrationRunner(Env.Database, Microsoft.Extensions.Logging.Abstractions.NullLogger<MigrationRunner>.Instance)
            .MigrateAsync(CancellationToken.None);

        Assert.That(before, Does.Contain(("govsg_dispatcher", "users.disabled_at", "SELECT")));
        Assert.That(await connection.QueryAsync<(string, string, string)>(privileges), Is.EqualTo(before));
    }

    /// <summary>The tables the ON clauses of grants.sql's GRANT and REVOKE statements name (not ON ALL TABLES).</summary>
    private static HashSet<string> TablesNamedByTheGrantsScript()
    {
        var withoutComments = CommentPattern().Replace(MigrationRunner.Grants(), "");
        return withoutComments.Split(';')
            .Select(statement => OnTablesPattern().Match(statement))
            .Where(match => match.Success)
            .SelectMany(match => match.Groups["tables"].Value.Split(',', StringSplitOptions.TrimEntries))
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The SQLSTATE the statement fails with as that role, or null when it succeeds (rolled back either way).</summary>
    private static async Task<string?> SqlStateAsync(string connectionString, string statement)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        try
        {
            await connection.ExecuteAsync(statement, transaction: transaction);
            return null;
        }
        catch (PostgresException e)
        {
            return e.SqlState;
        }
    }

    [GeneratedRegex("--[^\n]*")]
    private static partial Regex CommentPattern();

    [GeneratedRegex(@"^\s*(?:GRANT|REVOKE)\b.*?\bON\s+(?:TABLE\s+)?(?<tables>[a-z_][a-z0-9_]*(?:\s*,\s*[a-z_][a-z0-9_]*)*)\s+(?:TO|FROM)\b",
        RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex OnTablesPattern();
}
