namespace GovSg.Tests.Integration;

/// <summary>
/// Where the integration tests find PostgreSQL and RabbitMQ: the containers <see cref="TestInfrastructure"/> starts for
/// the test run, set here before any test runs. Everything else about the test system is fixed.
/// </summary>
public static class TestSettings
{
    /// <summary>
    /// The tests' own database on the PostgreSQL container, as its superuser: the harness drops and recreates it,
    /// migrates it (so the superuser owns the tables and gives the grants) and arranges test data with it.
    /// </summary>
    public static string Postgres { get; private set; } = "";

    /// <summary>The same database as the Api's role: the harness's Api hosts connect with it.</summary>
    public static string ApiPostgres => As(DatabaseRoles.Api);

    /// <summary>The same database as the Dispatcher's role: the harness's Dispatcher hosts connect with it.</summary>
    public static string DispatcherPostgres => As(DatabaseRoles.Dispatcher);

    /// <summary>The same database as the operator CLI's role: the CLI tests run <c>admin ...</c> with it.</summary>
    public static string OperatorPostgres => As(DatabaseRoles.Operator);

    public static string RabbitHost { get; private set; } = "";

    public static int RabbitPort { get; private set; }

    public static string RabbitUsername { get; private set; } = "";

    public static string RabbitPassword { get; private set; } = "";

    /// <summary>The broker's TLS port (<see cref="BrokerTls"/>).</summary>
    public static int RabbitTlsPort { get; private set; }

    /// <summary>A PEM file with the authority that signed the broker's TLS certificate, which nothing else trusts.</summary>
    public static string RabbitTlsAuthorityFile { get; } = Path.Combine(Path.GetTempPath(), $"govsg-test-broker-ca-{Environment.ProcessId}.pem");

    /// <summary>The broker is the test run's own, so its default virtual host is.</summary>
    public static string RabbitVirtualHost { get; private set; } = "/";

    public const string Pepper = "test-pepper-0123456789abcdef0123456789abcdef";
    public const string AccessToken = "test-access-token";
    public const string AppSecret = "test-app-secret-0123456789abcdef";
    public const string VerifyToken = "test-verify-token-0123456789";
    public const string PhoneNumberId = "106540352242922";

    /// <summary>A PostgreSQL no one listens on: every connection is refused at once.</summary>
    public const string UnreachablePostgres = "Host=127.0.0.1;Port=1;Database=govsg;Username=govsg;Password=govsg;Timeout=2";

    /// <summary>The repository root, found from the test binaries, for files such as the demo templates.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string TemplatesFile => Path.Combine(RepositoryRoot, "deploy", "local", "templates.json");

    private static string As((string Name, string Password) role) =>
        new Npgsql.NpgsqlConnectionStringBuilder(Postgres) { Username = role.Name, Password = role.Password }.ConnectionString;

    internal static void Use(string postgres, Uri rabbitMq, int rabbitTlsPort, string rabbitTlsAuthorityPem)
    {
        Postgres = postgres;
        RabbitTlsPort = rabbitTlsPort;
        File.WriteAllText(RabbitTlsAuthorityFile, rabbitTlsAuthorityPem);
        var credentials = rabbitMq.UserInfo.Split(':', 2);
        RabbitHost = rabbitMq.Host;
        RabbitPort = rabbitMq.Port;
        RabbitUsername = Uri.UnescapeDataString(credentials[0]);
        RabbitPassword = Uri.UnescapeDataString(credentials[1]);
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GovSg.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("GovSg.sln not found above " + AppContext.BaseDirectory);
    }
}
