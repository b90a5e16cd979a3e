using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Tests.Unit;

public sealed class WriteOutcomeTests
{
    [Test]
    public void AsCommit_WhenTheConnectionTimesOutOrBreaksDuringIt_SaysTheOutcomeIsUnknown()
    {
        Assert.ThrowsAsync<OutcomeUnknownException>(() =>
            Task.FromException(new NpgsqlException("timed out", new TimeoutException())).AsCommit());
        Assert.ThrowsAsync<OutcomeUnknownException>(() =>
            Task.FromException<int>(new NpgsqlException("broke", new EndOfStreamException())).AsCommit());
    }

    [Test]
    public async Task AsCommit_OtherwiseLeavesTheResultAndTheFailureAsTheyAre()
    {
        Assert.That(await Task.FromResult(7).AsCommit(), Is.EqualTo(7));
        // Refused by the server, or never sent for want of a connection: nothing was stored.
        Assert.ThrowsAsync<PostgresException>(() =>
            Task.FromException(new PostgresException("read-only", "ERROR", "ERROR", "25006")).AsCommit());
        Assert.ThrowsAsync<PostgresException>(() =>
            Task.FromException(new PostgresException("could not serialize access", "ERROR", "ERROR", "40001")).AsCommit());
        // A restart or fail-over ends idle pooled connections; the next statement reads that before it runs.
        Assert.ThrowsAsync<PostgresException>(() =>
            Task.FromException(new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL",
                PostgresErrorCodes.AdminShutdown)).AsCommit());
        Assert.ThrowsAsync<NpgsqlException>(() =>
            Task.FromException<int>(new NpgsqlException("refused", new System.Net.Sockets.SocketException())).AsCommit());
    }
}
