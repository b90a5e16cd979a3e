using GovSg.LoadGenerator.Ceilings;
using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Reporting;
using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Pipeline;

/// <summary>
/// <c>drain</c>: waits for an earlier <c>send</c> run's messages (found by its run id) and reports the pipeline's figures —
/// for a backlog sent while the dispatchers were stopped, how long they took to work through it.
/// </summary>
internal sealed class DrainCommand(string runId, DrainTarget until, TimeSpan timeout, CeilingOptions? ceilings,
    Connections connections, TimeProvider time) : IBenchmarkCommand
{
    public static DrainCommand From(CommandLine line, Connections connections, TimeProvider time)
    {
        var runId = RunIds.Required(line);
        var until = DrainTargets.Parse(line.String("until"), DrainTarget.Read);
        if (until == DrainTarget.None)
        {
            throw new UsageException("--until must be accepted or read");
        }

        var ceilings = new CeilingOptions(line.Int("ceiling-concurrency", 1, 1_000) ?? CeilingOptions.DefaultConcurrency,
            line.Duration("ceiling-duration") ?? CeilingOptions.DefaultDuration);
        return new DrainCommand(runId, until, line.Duration("drain-timeout") ?? TimeSpan.FromMinutes(10),
            line.Flag("no-ceilings") ? null : ceilings, connections, time);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var progress = Console.Error;
        await using var dataSource = Database.Create(connections.Postgres, ceilings?.Concurrency ?? 0);
        var userIds = await new RunUsers(dataSource, time).FindAsync(runId, withWarmup: false, cancellationToken);
        if (userIds.Length == 0)
        {
            throw new UsageException($"no users of run {runId}: start it with `send --run-id {runId}`");
        }

        var store = new PipelineStore(dataSource);
        var pipeline = await PipelineResult.CollectAsync(store, new DrainWaiter(store, time, progress), userIds,
            until, timeout, cancellationToken);
        var measured = ceilings is null
            ? null
            : await new CeilingRunner(dataSource, connections, time, progress).MeasureAsync(ceilings, cancellationToken);

        Console.WriteLine($"run {runId} ({userIds.Length} users), all its messages");
        new LoadReport(measured).Write(Console.Out, load: null, pipeline, cpu: null);
    }
}
