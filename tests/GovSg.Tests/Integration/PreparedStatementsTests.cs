using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace GovSg.Tests.Integration;

/// <summary>
/// The services prepare the statements each connection runs most (BENCHMARKS.md, "Prepared statements"), unless their
/// connection string names its own figure, as it must behind a pooler that cannot keep prepared statements.
/// </summary>
public sealed class PreparedStatementsTests
{
    private static TestSystem Env => TestEnvironment.Current;

    [Test]
    public void Services_PrepareTheirStatements_ByDefault()
    {
        Assert.That(MaxAutoPrepare(Env.Api.Services), Is.EqualTo(64));
        Assert.That(MaxAutoPrepare(Env.Dispatcher.Services), Is.EqualTo(64));
    }

    [TestCase("Max Auto Prepare=0", 0)]
    [TestCase("maxautoprepare=8", 8)]
    public async Task Api_WhoseConnectionStringNamesMaxAutoPrepare_KeepsIt(string setting, int expected)
    {
        await using var api = Env.StartApi(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = $"{TestSettings.ApiPostgres};{setting}",
        });

        Assert.That(MaxAutoPrepare(api.Services), Is.EqualTo(expected));
    }

    private static int MaxAutoPrepare(IServiceProvider services) =>
        new NpgsqlConnectionStringBuilder(services.GetRequiredService<NpgsqlDataSource>().ConnectionString).MaxAutoPrepare;
}
