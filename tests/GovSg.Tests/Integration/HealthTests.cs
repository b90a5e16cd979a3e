using System.Diagnostics;
using System.Net;
using System.Text.Json;

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
        var api = TestEnvironment.Current.StartApi(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = $"{TestSettings.ApiPostgres};Password=wrong",
        });
        using var client = api.CreateClient();

        var (response, health) = await MessageJson.GetAsync(client, "health/ready");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(health.GetProperty("checks").GetProperty("postgres").Str("reason"), Does.StartWith("PostgreSQL refused: 28P01"));
    }

    [Test]
    public async Task Ready_OnTheApi_WhenPostgreSqlIsUnreachable_IsDegradedNotUnready()
    {
        // The Api answers 503 service_unavailable itself and takes webhooks meanwhile (SPEC §8), so it stays in the load
        // balancer.
        var api = TestEnvironment.Current.StartApi(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = TestSettings.UnreachablePostgres,
        });
        using var client = api.CreateClient();

        var (response, health) = await MessageJson.GetAsync(client, "health/ready");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var postgres = health.GetProperty("checks").GetProperty("postgres");
        Assert.That((postgres.Str("status"), postgres.Str("reason")), Is.EqualTo(("Degraded", "PostgreSQL is unreachable")));
    }

    [Test]
    public async Task Ready_OnTheApi_WhenPostgreSqlStopsAnswering_IsDegradedWithinTheReadinessProbesTimeout()
    {
        // A partition or a fail-over: connections stay open and nothing comes back. The probe gives up after 3 s
        // (deploy/k8s), and a probe that times out takes the Api out of the Service, which must not happen (SPEC §8).
        await using var database = TcpRelay.InFrontOfPostgres(TestSettings.ApiPostgres, out var postgres);
        var api = TestEnvironment.Current.StartApi(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
        });
        using var client = api.CreateClient();
        var (before, _) = await MessageJson.GetAsync(client, "health/ready");

        database.Stall();
        var clock = Stopwatch.StartNew();
        var (response, health) = await MessageJson.GetAsync(client, "health/ready");

        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var check = health.GetProperty("checks").GetProperty("postgres");
        Assert.That((check.Str("status"), check.Str("reason")), Is.EqualTo(("Degraded", "PostgreSQL did not answer within 2 s")));
    }

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
}
