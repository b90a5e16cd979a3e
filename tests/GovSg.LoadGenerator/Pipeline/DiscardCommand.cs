using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Pipeline;

/// <summary>
/// <c>discard</c>: deletes a run's messages that are still UNSENT. An ingest-only run leaves them behind with the
/// dispatchers stopped; left alone, the next run's dispatchers would work through them and skew its figures.
/// </summary>
internal sealed class DiscardCommand(string runId, Connections connections, TimeProvider time) : IBenchmarkCommand
{
    public static DiscardCommand From(CommandLine line, Connections connections, TimeProvider time) =>
        new(RunIds.Required(line), connections, time);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var dataSource = Database.Create(connections.Postgres, 0);
        var userIds = await new RunUsers(dataSource, time).FindAsync(runId, withWarmup: true, cancellationToken);
        var deleted = await new PipelineStore(dataSource).DiscardUnsentAsync(userIds, cancellationToken);
        Console.WriteLine($"run {runId}: discarded {deleted:N0} UNSENT messages");
    }
}
