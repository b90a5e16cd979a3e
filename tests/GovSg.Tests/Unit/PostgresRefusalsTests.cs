using System.Net.Sockets;
using System.Reflection;
using GovSg.Dispatcher.Extensions;
using Npgsql;

namespace GovSg.Tests.Unit;

/// <summary>
/// One answer to "is the database away?" for both services: what the Api answers 503 for, the Dispatcher keeps its
/// message for until the database is back, rather than parking it as a bug's failure. The class is compiled into both
/// services (Api/Hosting), so each copy is tested.
/// </summary>
public sealed class PostgresRefusalsTests
{
    private static readonly Func<Exception, bool>[] Copies =
        [.. new[] { typeof(GovSg.Api.Program).Assembly, typeof(RetryExtensions).Assembly }.Select(IsUnavailableIn)];

    private static Func<Exception, bool> IsUnavailableIn(Assembly service) => service
        .GetType("GovSg.Hosting.PostgresRefusals", throwOnError: true)!
        .GetMethod("IsUnavailable", BindingFlags.Public | BindingFlags.Static)!
        .CreateDelegate<Func<Exception, bool>>();

    private static readonly Func<PostgresException, bool>[] IsPassingCopies =
    [
        .. new[] { typeof(GovSg.Api.Program).Assembly, typeof(RetryExtensions).Assembly }.Select(service => service
            .GetType("GovSg.Hosting.PostgresRefusals", throwOnError: true)!
            .GetMethod("IsPassing", BindingFlags.Public | BindingFlags.Static)!
            .CreateDelegate<Func<PostgresException, bool>>()),
    ];

    // What /health/ready reports: a refusal that passes on its own is the database being away (degraded), anything else a
    // misconfiguration (unhealthy) an operator must put right.
    [TestCase("57P01", true)]
    [TestCase("57P02", true)]
    [TestCase("57P03", true)]
    [TestCase("53300", true)]
    [TestCase("28P01", false)]
    [TestCase("3D000", false)]
    [TestCase("25006", false)]
    public void IsPassing_OnlyForAServerShuttingDownStartingOrFull(string sqlState, bool passing)
    {
        var refused = new PostgresException("refused", "FATAL", "FATAL", sqlState);

        Assert.That(IsPassingCopies.Select(isPassing => isPassing(refused)), Is.All.EqualTo(passing));
    }

    private static bool IsUnavailable(Exception exception)
    {
        var answers = Copies.Select(isUnavailable => isUnavailable(exception)).Distinct().ToList();
        Assert.That(answers, Has.Count.EqualTo(1), "both services answer alike");
        return answers[0];
    }

    [TestCase("57P01", true)] // shutting down
    [TestCase("57P03", true)] // starting up
    [TestCase("53300", true)] // too many connections
    [TestCase("25006", true)] // read-only: a fail-over's old primary
    [TestCase("57014", true)] // cancelled by statement_timeout
    [TestCase("28P01", true)] // password refused: rotated on one side first
    [TestCase("28000", true)] // login refused
    [TestCase("3D000", true)] // no such database yet
    [TestCase("40P01", true)] // deadlock: Npgsql marks it transient
    [TestCase("42P01", false)] // no such table: a bug or a missed migration
    [TestCase("23505", false)] // unique violation
    [TestCase("22P02", false)] // a value the database refuses
    [TestCase("42501", false)] // permission denied: a grants mistake
    public void IsUnavailable_ByWhatTheServerSays(string sqlState, bool unavailable)
    {
        var refused = new PostgresException("refused", "ERROR", "ERROR", sqlState);

        Assert.That(IsUnavailable(refused), Is.EqualTo(unavailable));
        Assert.That(RetryExtensions.IsPermanent(refused), Is.EqualTo(!unavailable));
    }

    [Test]
    public void IsUnavailable_WhenTheServerCannotBeReachedOrDoesNotAnswerInTime()
    {
        Assert.That(IsUnavailable(new NpgsqlException("refused", new SocketException())), Is.True);
        Assert.That(IsUnavailable(new NpgsqlException("broke", new IOException())), Is.True);
        Assert.That(IsUnavailable(new TimeoutException()), Is.True);
        Assert.That(IsUnavailable(new InvalidOperationException()), Is.False);
        Assert.That(RetryExtensions.IsPermanent(new OperationCanceledException()), Is.False, "a shutdown is not a failure");
    }
}
