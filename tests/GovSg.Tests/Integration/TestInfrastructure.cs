using System.Text;
using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace GovSg.Tests.Integration;

/// <summary>
/// The PostgreSQL and RabbitMQ containers of one test run, started before the first integration test and removed
/// after the last. Which images is one setting, <c>GOVSG_TEST_IMAGES</c>: <c>official</c> (the default: the
/// registry's postgres and rabbitmq images) or <c>local</c> (the images deploy/images/build.sh makes from Debian's
/// packages, for machines that reach no container registry).
/// </summary>
public sealed class TestInfrastructure : IAsyncDisposable
{
    /// <summary>Marks the containers, so tests/run.sh can remove the ones a killed run left behind.</summary>
    public const string Label = "org.govsg.tests";

    private const string ImagesVariable = "GOVSG_TEST_IMAGES";

    private static readonly Dictionary<string, (string Postgres, string RabbitMq)> Images = new()
    {
        ["official"] = ("postgres:15", "rabbitmq:3.13"),
        ["local"] = ("govsg/postgres:15-bookworm", "govsg/rabbitmq:3.10-bookworm"),
    };

    private readonly PostgreSqlContainer _postgres;
    private RabbitMqContainer _rabbitMq = null!;

    private TestInfrastructure(PostgreSqlContainer postgres)
    {
        _postgres = postgres;
    }

    /// <summary>The running containers, for tests that change the broker's configuration (virtual hosts, policies).</summary>
    public static TestInfrastructure Current { get; private set; } = null!;

    /// <summary>Runs <c>rabbitmqctl</c> with these arguments in the broker's container.</summary>
    public async Task RabbitMqCtlAsync(params string[] arguments)
    {
        var result = await _rabbitMq.ExecAsync(["rabbitmqctl", .. arguments]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', arguments)}: {result.Stderr}");
        }
    }

    /// <summary>Starts both containers and points <see cref="TestSettings"/> at them.</summary>
    public static async Task<TestInfrastructure> StartAsync()
    {
        var choice = Environment.GetEnvironmentVariable(ImagesVariable) ?? "official";
        if (!Images.TryGetValue(choice, out var images))
        {
            throw new InvalidOperationException($"{ImagesVariable} is '{choice}'; use {string.Join(" or ", Images.Keys)}");
        }

        var infrastructure = new TestInfrastructure(new PostgreSqlBuilder(images.Postgres)
            .WithLabel(Label, "true")
            // The Api, the Dispatchers and the admin CLI each keep a pool; PostgreSQL's default 100 is too few.
            .WithCommand("-c", "max_connections=300")
            .Build());
        BrokerTls tls;
        try
        {
            // The broker's TLS certificate names the host the tests reach containers by, which is known once one runs.
            await infrastructure._postgres.StartAsync();
            tls = BrokerTls.Create(infrastructure._postgres.Hostname);
            var rabbitMq = new RabbitMqBuilder(images.RabbitMq).WithLabel(Label, "true").WithPortBinding(BrokerTls.Port, true);
            foreach (var (path, content) in tls.ContainerFiles())
            {
                rabbitMq = rabbitMq.WithResourceMapping(Encoding.UTF8.GetBytes(content), path);
            }

            infrastructure._rabbitMq = rabbitMq.Build();
            await infrastructure._rabbitMq.StartAsync();
        }
        catch
        {
            await infrastructure.DisposeAsync();
            throw;
        }

        // The service roles and broker users, made by the same bootstrap scripts as the local run and docker compose use.
        var roles = await infrastructure._postgres.ExecScriptAsync(DatabaseRoles.Script());
        await infrastructure._rabbitMq.CopyAsync(await File.ReadAllBytesAsync(BrokerUsers.ScriptFile), BrokerUsers.ContainerPath);
        var users = await infrastructure._rabbitMq.ExecAsync(BrokerUsers.Command());
        if (roles.ExitCode != 0 || users.ExitCode != 0)
        {
            await infrastructure.DisposeAsync();
            throw new InvalidOperationException(
                $"{DatabaseRoles.ScriptFile}: {roles.ExitCode} {roles.Stderr}; {BrokerUsers.ScriptFile}: {users.ExitCode} {users.Stderr}");
        }

        // The container's superuser, on a database of the tests' own: the harness drops and recreates it.
        var database = new NpgsqlConnectionStringBuilder(infrastructure._postgres.GetConnectionString())
        {
            Database = "govsg_test",
            MaxPoolSize = 30,
        };
        TestSettings.Use(database.ConnectionString, new Uri(infrastructure._rabbitMq.GetConnectionString()),
            infrastructure._rabbitMq.GetMappedPublicPort(BrokerTls.Port), tls.AuthorityPem);
        Current = infrastructure;
        return infrastructure;
    }

    public async ValueTask DisposeAsync()
    {
        File.Delete(TestSettings.RabbitTlsAuthorityFile);
        await _postgres.DisposeAsync();
        if (_rabbitMq is not null)
        {
            await _rabbitMq.DisposeAsync();
        }
    }
}
