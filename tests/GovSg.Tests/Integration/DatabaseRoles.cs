namespace GovSg.Tests.Integration;

/// <summary>
/// The service roles of deploy/local/database-roles.sql, with the test run's passwords. <see cref="TestInfrastructure"/>
/// creates them on its PostgreSQL container by running that very file; Api/Database/grants.sql (applied by the
/// migration runner) says what each may do.
/// </summary>
public static class DatabaseRoles
{
    public static readonly (string Name, string Password) Api = ("govsg_api", "test-api-password");
    public static readonly (string Name, string Password) Dispatcher = ("govsg_dispatcher", "test-dispatcher-password");
    public static readonly (string Name, string Password) Operator = ("govsg_operator", "test-operator-password");

    public static string ScriptFile => Path.Combine(TestSettings.RepositoryRoot, "deploy", "local", "database-roles.sql");

    /// <summary>The bootstrap script with its psql variables set, as deploy/local/infra.sh passes them.</summary>
    public static string Script() =>
        $"""
        \set ON_ERROR_STOP on
        \set api_password '{Api.Password}'
        \set dispatcher_password '{Dispatcher.Password}'
        \set operator_password '{Operator.Password}'
        {File.ReadAllText(ScriptFile)}
        """;
}
