namespace GovSg.Tests.Integration;

/// <summary>Where the integration tests find PostgreSQL and RabbitMQ (started by deploy/local/infra.sh).</summary>
public static class TestSettings
{
    public static string Postgres { get; } = Environment.GetEnvironmentVariable("GOVSG_TEST_POSTGRES")
        ?? "Host=localhost;Port=5432;Database=govsg_test;Username=govsg;Password=govsg;Maximum Pool Size=30";

    public static string RabbitHost { get; } = Environment.GetEnvironmentVariable("GOVSG_TEST_RABBIT_HOST") ?? "localhost";

    public static string RabbitVirtualHost { get; } = Environment.GetEnvironmentVariable("GOVSG_TEST_RABBIT_VHOST") ?? "govsg_test";

    public const string Pepper = "test-pepper-0123456789abcdef0123456789abcdef";
    public const string AccessToken = "test-access-token";
    public const string AppSecret = "test-app-secret-0123456789abcdef";
    public const string VerifyToken = "test-verify-token-0123456789";
    public const string PhoneNumberId = "106540352242922";

    /// <summary>The repository root, found from the test binaries, for files such as the demo templates.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string TemplatesFile => Path.Combine(RepositoryRoot, "deploy", "local", "templates.json");

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
