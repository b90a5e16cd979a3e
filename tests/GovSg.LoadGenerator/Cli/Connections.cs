namespace GovSg.LoadGenerator.Cli;

/// <summary>
/// Where the running system is. The defaults are the local run's (deploy/local/up.sh); PostgreSQL and RabbitMQ settings
/// come from the same environment variables the services read.
/// </summary>
internal sealed record Connections(Uri Api, string Postgres, RabbitMqSettings RabbitMq)
{
    private const string LocalApi = "http://localhost:8080/";
    private const string LocalPostgres = "Host=localhost;Port=5432;Database=govsg;Username=govsg;Password=govsg";

    public static Connections From(CommandLine line) => new(
        new Uri(line.String("api") ?? LocalApi),
        line.String("postgres") ?? Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") ?? LocalPostgres,
        RabbitMqSettings.FromEnvironment());
}

internal sealed record RabbitMqSettings(string Host, ushort Port, string VirtualHost, string Username, string Password)
{
    public static RabbitMqSettings FromEnvironment() => new(
        Variable("Host") ?? "localhost",
        ushort.TryParse(Variable("Port"), out var port) ? port : (ushort)5672,
        Variable("VirtualHost") ?? "/",
        Variable("Username") ?? "guest",
        Variable("Password") ?? "guest");

    private static string? Variable(string name) => Environment.GetEnvironmentVariable($"RabbitMq__{name}");
}
