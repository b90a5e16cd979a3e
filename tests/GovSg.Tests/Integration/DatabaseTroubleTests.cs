using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using GovSg.Dispatcher.Extensions;
using GovSg.Dispatcher.Sweeping;
using Npgsql;

namespace GovSg.Tests.Integration;

/// <summary>How the services behave while PostgreSQL is in trouble (found by an outside review of operations).</summary>
public sealed class DatabaseTroubleTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public async Task DispatcherGauges_WhilePostgreSqlStopsAnswering_DoNotHoldUpMetricCollection()
    {
        // The RUNBOOK's first alert is govsg.messages.unsent.oldest_age. Its gauges are read on the thread that collects
        // every instrument of the process for the exporter: during a partition or a fail-over (connections open, nothing
        // answers) they must not hold it for Npgsql's command timeout, as their synchronous read once did.
        await using var relay = TcpRelay.InFrontOfPostgres(TestSettings.DispatcherPostgres, out var postgres);
        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
        using var metrics = new DispatcherMetrics(new SweepStore(dataSource));
        var before = Collect();
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // past the gauges' one-second cache

        relay.Stall();
        var clock = Stopwatch.StartNew();
        var collection = Task.Run(Collect);
        var finished = await Task.WhenAny(collection, Task.Delay(TimeSpan.FromSeconds(10))) == collection;
        var elapsed = clock.Elapsed;
        relay.Cut(); // lets a collection still waiting fail, so the test leaves nothing behind
        await collection.ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.That(before, Is.True, "the gauges were read while PostgreSQL answered");
        Assert.That(finished, Is.True, $"one collection of the process's metrics was still waiting after {elapsed.TotalSeconds:0.0} s");
        // Both gauges wait for one read, at most a second from its start, where the synchronous read waited out Npgsql's
        // command timeout (over the 10 s this test waits). The bound leaves room for a busy CI machine's scheduling,
        // which took a 1 s wait to 1.95 s once.
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
    }

    // Nothing is stored and the agency should retry later, which is what 503 service_unavailable says (SPEC §8, RUNBOOK
    // "PostgreSQL is down, or full"); 500 internal_server is for bugs. A password rotated on the server before the Secret
    // (or the reverse); a server that takes no writes (a fail-over's old primary, now a standby: SQLSTATE 25006).
    [TestCase(";Password=wrong")]
    [TestCase(";Options=-c default_transaction_read_only=on")]
    public async Task Send_WhenPostgreSqlCannotStoreIt_AnswersServiceUnavailableNot500(string connectionStringSuffix)
    {
        var user = await Env.CreateUserAsync();
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = TestSettings.ApiPostgres + connectionStringSuffix,
        });
        using var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", user.Key);

        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body.ToString());
        Assert.That(body.Str("code"), Is.EqualTo("service_unavailable"));
        Assert.That(response.Headers.RetryAfter, Is.Not.Null);
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.Zero);
    }

    // A PostgreSQL that stops answering (frozen, or cut off by the network: connections open, nothing answers) cannot
    // enforce statement_timeout. A send still ends in 503 within seconds (it waited out Npgsql's 30 s command timeout).
    // When the server has the step that commits the send (a single send's insert, which runs on its own; a batch's
    // COMMIT), commits it and its answer is lost, the answer must not say that nothing was stored (SPEC §8), as the
    // messages are there. A batch whose insert is out but whose COMMIT never left stored nothing, and says so.
    [TestCase(false, true, 1)]
    [TestCase(true, true, 2)]
    [TestCase(true, false, 0)]
    public async Task Send_WhenPostgreSqlStopsAnsweringMidWrite_Answers503WithinSecondsSayingWhetherItMayHaveBeenStored(
        bool batch, bool commitSent, int stored)
    {
        var user = await Env.CreateUserAsync();
        await using var relay = TcpRelay.InFrontOfPostgres(TestSettings.ApiPostgres, out var postgres);
        using var client = await SentOnceAsync(postgres.ConnectionString, user);

        const string insert = "INSERT INTO messages (id, user_id"; // MessageStore's
        relay.StallAfter(batch && commitSent ? [insert, "COMMIT"] : [insert]);
        var clock = Stopwatch.StartNew();
        var (response, body) = batch
            ? await BatchSendTests.PostAsync(client, $$"""
                {"messages":[{"recipient":"{{TestRecipients.Next().Local}}","template_id":3},
                             {"recipient":"{{TestRecipients.Next().Local}}","template_id":3}]}
                """)
            : await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        var elapsed = clock.Elapsed;
        relay.Cut();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body.ToString());
        Assert.That(body.Str("code"), Is.EqualTo("service_unavailable"));
        Assert.That(body.Str("message"), Does.Contain(commitSent ? "may have been stored" : "nothing was stored"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1 + stored), "the first send and what was committed");
        // A second past the 1 s statement timeout for the command; the bound leaves room for a busy CI machine.
        Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(6)));
    }

    // The other side of the test above: a send that fails before its insert is out (here, no connection opens)
    // stored nothing, and says so, so the agency may simply send it again. Only the step that commits may say "may have
    // been stored": an answer that says it of every timeout makes agencies look up sends that never happened.
    [Test]
    public async Task Send_WhenNoConnectionToPostgreSqlOpens_Answers503SayingNothingWasStored()
    {
        var user = await Env.CreateUserAsync();
        await using var relay = TcpRelay.InFrontOfPostgres(TestSettings.ApiPostgres, out var postgres);
        postgres.Pooling = false; // every statement opens a connection of its own
        using var client = await SentOnceAsync(postgres.ConnectionString, user);

        relay.Stall();
        var (response, body) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        relay.Cut();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body.ToString());
        Assert.That(body.Str("code"), Is.EqualTo("service_unavailable"));
        Assert.That(body.Str("message"), Does.Contain("nothing was stored"));
        Assert.That(await Env.CountMessagesAsync(user.Id), Is.EqualTo(1));
    }

    // A request whose client goes away cancels its statement. The Api asks the server to cancel it and keeps the
    // connection, rather than dropping it and leaving the pool to open another (a new backend, its login and warm-up),
    // which under clients with short timeouts would churn the pool.
    [Test]
    public async Task Request_WhoseClientGoesAwayMidStatement_CancelsTheStatementAndKeepsItsConnection()
    {
        var user = await Env.CreateUserAsync();
        await using var admin = new NpgsqlConnection(TestSettings.Postgres);
        await admin.OpenAsync();
        await using var lockHolder = new NpgsqlConnection(TestSettings.Postgres);
        await lockHolder.OpenAsync();
        // The lock a key's creation takes for its user (KeyStore), so the creation waits in the server.
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock(1, {user.Id})", lockHolder))
        {
            await take.ExecuteNonQueryAsync();
        }

        using var abort = new CancellationTokenSource();
        var creation = user.Client.PostAsync("v1/api-keys",
            new StringContent("""{"label":"abandoned"}""", System.Text.Encoding.UTF8, "application/json"), abort.Token);
        var waiting = $"SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 1 AND objid = {user.Id} AND NOT granted";
        var pid = await Poll.UntilAsync(async () => await ScalarAsync<int?>(admin, waiting), p => p is not null,
            TimeSpan.FromSeconds(10));
        await abort.CancelAsync();
        Assert.ThrowsAsync<TaskCanceledException>(() => creation);

        // Cancelled by the server (the lock wait ends) rather than abandoned (it would wait on, then end its backend).
        var cancelled = await Poll.UntilAsync(() => ScalarAsync<int?>(admin, waiting), p => p is null, TimeSpan.FromSeconds(10));
        await using (var release = new NpgsqlCommand($"SELECT pg_advisory_unlock(1, {user.Id})", lockHolder))
        {
            await release.ExecuteNonQueryAsync();
        }

        await Task.Delay(TimeSpan.FromSeconds(1)); // a dropped connection's backend ends once its statement can run
        Assert.That(cancelled, Is.Null, "the statement still waited after the client went away");
        // Its backend lives on (another of the test system's requests may be using it by now, so not necessarily idle).
        Assert.That(await ScalarAsync<long>(admin, $"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}"),
            Is.EqualTo(1), "the connection was dropped");
        Assert.That(await ScalarAsync<long>(admin, $"SELECT count(*) FROM api_keys WHERE user_id = {user.Id}"), Is.EqualTo(1));
    }

    /// <summary>
    /// A client with the user's key of an Api on <paramref name="connectionString"/> (PostgreSQL behind a relay, with a
    /// 1 s statement timeout), which has sent once while PostgreSQL answered: the key is read once, by that send.
    /// </summary>
    private static async Task<HttpClient> SentOnceAsync(string connectionString, TestUser user)
    {
        var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Database:StatementTimeout"] = "00:00:01",
            ["Auth:KeyCacheDuration"] = "00:05:00",
        });
        var client = api.CreateClient();
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", user.Key);
        var (first, _) = await MessageJson.PostAsync(client, MessageJson.OfficerCall(TestRecipients.Next().Local));
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created), "a send while PostgreSQL answered");
        return client;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default! : (T)value;
    }

    /// <summary>Reads both backlog gauges of the Dispatcher's meter once; true when they reported.</summary>
    private static bool Collect()
    {
        var seen = false;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DispatcherMetrics.Name && instrument.Name.StartsWith("govsg.messages.unsent", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, _, _) => seen = true);
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }
}
