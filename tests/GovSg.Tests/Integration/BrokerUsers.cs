namespace GovSg.Tests.Integration;

/// <summary>
/// The RabbitMQ users of deploy/local/broker-users.sh, with the test run's passwords. <see cref="TestInfrastructure"/>
/// creates them on its RabbitMQ container by running that very script there. The harness's own hosts keep the
/// container's administrator (see BrokerUsersTests for why); the users are tested on their own.
/// </summary>
public static class BrokerUsers
{
    public static readonly (string Name, string Password) Api = ("govsg-api", "test-api-password");
    public static readonly (string Name, string Password) Dispatcher = ("govsg-dispatcher", "test-dispatcher-password");
    public static readonly (string Name, string Password) Keda = ("govsg-keda", "test-keda-password");

    public const string ContainerPath = "/tmp/broker-users.sh";

    public static string ScriptFile => Path.Combine(TestSettings.RepositoryRoot, "deploy", "local", "broker-users.sh");

    public static IList<string> Command() =>
    [
        "env", $"RABBITMQ_API_PASSWORD={Api.Password}", $"RABBITMQ_DISPATCHER_PASSWORD={Dispatcher.Password}",
        $"RABBITMQ_KEDA_PASSWORD={Keda.Password}", "bash", ContainerPath, TestSettings.RabbitVirtualHost,
    ];
}
