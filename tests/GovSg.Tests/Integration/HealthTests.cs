using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using GovSg.Api.Database;

namespace GovSg.Tests.Integration;

/// <summary>Both services answer health as JSON with one entry per check (SPEC §9.1).</summary>
public sealed class HealthTests
{
    [Test]
    public async Task Ready_OnTheApi_ListsEveryCheckWithStatusAndDuration()
    {
        using var client = TestEnvironment.Current.Client(null);

        var (response, health) = await MessageJson.GetAsync(client, "health/ready");

        AssertHealthy(response, health, "postgres", "masstransit-bus");
    }

    [Test]
    public async Task Ready_OnTheDispatcher_ListsEveryCheckWithStatusAndDuration()
    {
        using var client = TestEnvironment.Current.Dispatcher.CreateClient();

        var (response, health) = await MessageJson.GetAsync(client, "health/ready");

        AssertHealthy(response, health, "postgres", "masstransit-bus", "provider");
    }

    [Test]
    public async Task Live_RunsNoChecks()
    {
        using var client = TestEnvironment.Current.Client(null);

        var (response, health) = await MessageJson.GetAsync(client, "health/live");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        Assert.That(health.Str("status"), Is.EqualTo("Healthy"));
        Assert.That(health.GetProperty("checks").EnumerateObject(), Is.Empty);
    }

    [Test]
    public async Task Ready_WhenPostgreSqlRefusesTheLogin_NamesTheRefusalNotAnOutage()
    {
        var (response, check) = await ReadyOnPostgresAsync($"{TestSettings.ApiPostgres};Password=wrong");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(check.Str("reason"), Does.StartWith("PostgreSQL refused: 28P01"));
    }

    [Test]
    public async Task Ready_OnTheApi_WhenPostgreSqlItReachedBecomesUnreachable_IsDegradedNotUnready()
    {
        // The Api answers 503 service_unavailable itself and takes webhooks meanwhile (SPEC §8), so it stays in the load
        // balancer.
        await using var database = TcpRelay.InFrontOfPostgres(TestSettings.ApiPostgres, out var postgres);
        using var client = StartApi(postgres.ConnectionString);
        var (before, _) = await MessageJson.GetAsync(client, "health/ready");

        database.Cut();
        var (response, health) = await MessageJson.GetAsync(client, "health/ready");

        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var check = health.GetProperty("checks").GetProperty("postgres");
        Assert.That((check.Str("status"), check.Str("reason")), Is.EqualTo(("Degraded", "PostgreSQL is unreachable")));
    }

    [Test]
    public async Task Ready_OnTheApi_WhenPostgreSqlWasNeverReached_IsUnready()
    {
        // A wrong host, a missing CA or a NetworkPolicy mistake looks like an outage from inside; ready, every pod of such a
        // release would join the Service and answer every agency 503. Unready, the rollout stops at its first new pod.
        using var client = StartApi(TestSettings.UnreachablePostgres);

        var (response, health) = await MessageJson.GetAsync(client, "health/ready");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        var check = health.GetProperty("checks").GetProperty("postgres");
        Assert.That((check.Str("status"), check.Str("reason")),
            Is.EqualTo(("Unhealthy", "PostgreSQL is unreachable; never healthy since this process started")));
    }

    [Test]
    public async Task Ready_OnTheApi_WhenPostgreSqlStopsAnswering_IsDegradedWithinTheReadinessProbesTimeout()
    {
        // A partition or a fail-over: connections stay open and nothing comes back. The probe gives up after 3 s
        // (deploy/k8s), and a probe that times out takes the Api out of the Service, which must not happen (SPEC §8).
        await using var database = TcpRelay.InFrontOfPostgres(TestSettings.ApiPostgres, out var postgres);
        using var client = StartApi(postgres.ConnectionString);
        var (before, _) = await MessageJson.GetAsync(client, "health/ready");

        database.Stall();
        var clock = Stopwatch.StartNew();
        var (response, health) = await MessageJson.GetAsync(client, "health/ready");

        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        // The reason names the check's own 2 s timeout; the bound only shows the answer did not wait for the database.
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var check = health.GetProperty("checks").GetProperty("postgres");
        Assert.That((check.Str("status"), check.Str("reason")), Is.EqualTo(("Degraded", "PostgreSQL did not answer within 2 s")));
    }

    [TestCase("57P03", "the database system is starting up")]
    [TestCase("57P03", "the database system is shutting down")]
    [TestCase("53300", "sorry, too many clients already")]
    public async Task Ready_OnTheApi_WhenPostgreSqlIsRestartingOrFull_IsDegradedNotUnready(string sqlState, string message)
    {
        // What a PostgreSQL that is restarting (crash recovery, a managed fail-over's new primary catching up) or out of
        // connections answers every new connection: a FATAL with a SQLSTATE, not a refused socket. It is an outage, not a
        // misconfiguration: the Api answers such requests 503 service_unavailable itself (ErrorEnvelopeMiddleware) and
        // must stay in the Service, degraded, to do so and to keep taking webhooks (deploy/k8s/README.md, RUNBOOK.md
        // "PostgreSQL is down"). Unready, every Api pod leaves the Service at once for as long as the restart lasts.
        // The server is real until the restart begins: the same port then answers with the refusal.
        await using var database = TcpRelay.InFrontOfPostgres(TestSettings.ApiPostgres, out var postgres);
        using var client = StartApi(postgres.ConnectionString);
        var (before, _) = await MessageJson.GetAsync(client, "health/ready");
        database.Cut();
        await using var restarting = RefusingPostgres.Start(sqlState, message, database.Port);

        // The pool's connection, cut, fails first ("unreachable"); a new one meets the refusal.
        var (response, health) = await Poll.UntilAsync(() => MessageJson.GetAsync(client, "health/ready"),
            r => r.Body.GetProperty("checks").GetProperty("postgres").Str("reason") != "PostgreSQL is unreachable");

        var check = health.GetProperty("checks").GetProperty("postgres");
        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((response.StatusCode, check.Str("status")), Is.EqualTo((HttpStatusCode.OK, "Degraded")), check.Str("reason"));
        Assert.That(check.Str("reason"), Is.EqualTo($"PostgreSQL refused: {sqlState}"));
    }

    [Test]
    public async Task Ready_OnTheApi_WhenPostgreSqlTakesNoWrites_SaysSo()
    {
        // A server that answers but takes no writes (a fail-over's old primary, now a standby) refuses every send (503,
        // SQLSTATE 25006); RUNBOOK: /health/ready says so, where a `SELECT 1` would have called it healthy.
        // Never writable since this Api started, so unready as well (Readiness).
        var (response, check) = await ReadyOnPostgresAsync($"{TestSettings.ApiPostgres};Options=-c default_transaction_read_only=on");

        Assert.That((response.StatusCode, check.Str("status"), check.Str("reason")),
            Is.EqualTo((HttpStatusCode.ServiceUnavailable, "Unhealthy", "PostgreSQL takes no writes (read-only); never healthy since this process started")));
    }

    [Test]
    public async Task Ready_OnTheApi_WhenRabbitMqIsUnreachable_GivesAReasonThatNamesTheBroker()
    {
        // SPEC §9.1: "/health/ready (database and broker) ... answering JSON with one entry per check (status, duration, and
        // a reason when unhealthy)"; RUNBOOK: "The Dispatchers' /health/ready (each check has a reason): the database or
        // the broker unreachable from them." The bus check said only "Not ready: not started", which tells an on-call SRE
        // nothing about the broker, where the postgres check says "PostgreSQL is unreachable".
        var api = TestEnvironment.Current.StartApi(new Dictionary<string, string?> { ["RabbitMq:Port"] = "1" });
        using var client = api.CreateClient();

        var (response, health) = await Poll.UntilAsync(() => MessageJson.GetAsync(client, "health/ready"),
            r => r.Item2.GetProperty("checks").GetProperty("masstransit-bus").Str("status") != "Healthy");

        var bus = health.GetProperty("checks").GetProperty("masstransit-bus");
        Assert.That(bus.Str("status"), Is.Not.EqualTo("Healthy"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "a broker never reached: a misconfiguration until shown otherwise");
        Assert.That(bus.Str("reason"), Does.Match("(?i)rabbitmq|broker"), "the reason says the broker cannot be reached");
    }

    [Test]
    public async Task Ready_OnTheApi_WhenTheDatabaseHasNotRecordedThisBuildsLastMigration_IsUnreadyAndSaysToMigrate()
    {
        // A rollout that ran ahead of its migration Job (deploy/k8s/README.md): ready, its pods would take traffic their
        // statements cannot serve. Unready, the rollout stops at its first new pod. Found by an outside operations review.
        await using var behind = await ScratchDatabase.CreateAsync("govsg_schema_behind");
        var (migrated, _) = await ReadyOnPostgresAsync(behind.As(TestSettings.Postgres));
        Assert.That(migrated.StatusCode, Is.EqualTo(HttpStatusCode.OK), "ready on the latest schema");
        await behind.Owner.CreateCommand(
            "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)").ExecuteNonQueryAsync();

        var (response, check) = await ReadyOnPostgresAsync(behind.As(TestSettings.Postgres));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((check.Str("status"), check.Str("reason")), Is.EqualTo(("Unhealthy",
            $"PostgreSQL's schema is behind this build (no migration {MigrationRunner.Scripts().Last().Version}): run migrate")));
    }

    [Test]
    public async Task Ready_OnTheApi_WhenTheDatabaseHasAnOlderBuildsGrants_IsUnreadyAndSaysToMigrate()
    {
        // A release whose migrations Job did not run finds the previous release's grants, which (before this one) gave
        // the services no read of schema_migrations: the check's read is refused. Unready either way; the reason sends
        // the operator to migrate rather than to the roles' passwords. Found by an outside rollout rehearsal.
        await using var older = await ScratchDatabase.CreateAsync("govsg_grants_older");
        await older.Owner.CreateCommand($"REVOKE SELECT ON schema_migrations FROM {DatabaseRoles.Api.Name}").ExecuteNonQueryAsync();

        var (response, check) = await ReadyOnPostgresAsync(older.As(TestSettings.ApiPostgres));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((check.Str("status"), check.Str("reason")), Is.EqualTo(("Unhealthy",
            "PostgreSQL refused: 42501 (permission denied): run this build's migrate, which applies its grants")));
    }

    /// <summary>The answer of /health/ready on an Api using this PostgreSQL, and its check of it.</summary>
    private static async Task<(HttpResponseMessage Response, JsonElement Check)> ReadyOnPostgresAsync(string connectionString)
    {
        using var client = StartApi(connectionString);
        var (response, health) = await MessageJson.GetAsync(client, "health/ready");
        return (response, health.GetProperty("checks").GetProperty("postgres"));
    }

    /// <summary>A client of a new Api using this PostgreSQL.</summary>
    private static HttpClient StartApi(string connectionString) => TestEnvironment.Current
        .StartApi(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = connectionString })
        .CreateClient();

    private static void AssertHealthy(HttpResponseMessage response, JsonElement health, params string[] checks)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        var entries = health.GetProperty("checks");
        foreach (var name in checks)
        {
            Assert.That(entries.TryGetProperty(name, out var entry), Is.True, name);
            Assert.That(entry.Str("status"), Is.EqualTo("Healthy"), name);
            Assert.That(entry.GetProperty("duration_ms").GetDouble(), Is.GreaterThanOrEqualTo(0), name);
            Assert.That(entry.TryGetProperty("reason", out _), Is.False, "a reason only when unhealthy");
        }
    }

    /// <summary>
    /// A server that speaks just enough of PostgreSQL's protocol to turn every connection away as a real one does while
    /// it starts, stops or is full: it declines TLS and GSS encryption, reads the startup message and answers it with a
    /// FATAL ErrorResponse carrying <c>sqlState</c>, then hangs up.
    /// </summary>
    private sealed class RefusingPostgres : IAsyncDisposable
    {
        private const int SslRequest = 80877103;
        private const int GssEncRequest = 80877104;
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stopped = new();
        private readonly byte[] _refusal;
        private Task _accepting = Task.CompletedTask;

        private RefusingPostgres(string sqlState, string message, int port)
        {
            _listener = new TcpListener(IPAddress.Loopback, port);
            var fields = new MemoryStream();
            foreach (var (code, value) in new[] { ('S', "FATAL"), ('V', "FATAL"), ('C', sqlState), ('M', message) })
            {
                fields.WriteByte((byte)code);
                fields.Write(Encoding.UTF8.GetBytes(value));
                fields.WriteByte(0);
            }

            fields.WriteByte(0);
            var body = fields.ToArray();
            _refusal = new byte[5 + body.Length];
            _refusal[0] = (byte)'E';
            BinaryPrimitives.WriteInt32BigEndian(_refusal.AsSpan(1), 4 + body.Length);
            body.CopyTo(_refusal, 5);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static RefusingPostgres Start(string sqlState, string message, int port)
        {
            var server = new RefusingPostgres(sqlState, message, port);
            server._listener.Start();
            server._accepting = TcpRelay.AcceptEachAsync(server._listener, server.RefuseAsync, server._stopped.Token);
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _stopped.CancelAsync();
            _listener.Stop();
            await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
            _stopped.Dispose();
        }

        private async Task RefuseAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var header = new byte[8];
                    while (true)
                    {
                        await stream.ReadExactlyAsync(header, _stopped.Token);
                        var length = BinaryPrimitives.ReadInt32BigEndian(header);
                        var code = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
                        if (code is SslRequest or GssEncRequest)
                        {
                            await stream.WriteAsync("N"u8.ToArray(), _stopped.Token);
                            continue;
                        }

                        await stream.ReadExactlyAsync(new byte[length - 8], _stopped.Token);
                        await stream.WriteAsync(_refusal, _stopped.Token);
                        return;
                    }
                }
                catch (Exception exception) when (exception is IOException or SocketException or EndOfStreamException
                                                      or OperationCanceledException or ObjectDisposedException)
                {
                    // The client gave up first.
                }
            }
        }
    }
}
