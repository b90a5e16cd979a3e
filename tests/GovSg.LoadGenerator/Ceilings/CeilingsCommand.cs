using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Reporting;
using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Ceilings;

/// <summary><c>ceilings</c>: the machine's ceilings alone.</summary>
internal sealed class CeilingsCommand(CeilingOptions options, Connections connections, TimeProvider time) : IBenchmarkCommand
{
    public static CeilingsCommand From(CommandLine line, Connections connections, TimeProvider time) => new(
        new CeilingOptions(
            line.Int("concurrency", 1, 1_000) ?? CeilingOptions.DefaultConcurrency,
            line.Duration("duration") ?? CeilingOptions.DefaultDuration),
        connections, time);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var dataSource = Database.Create(connections.Postgres, options.Concurrency);
        var ceilings = await new CeilingRunner(dataSource, connections, time, Console.Error).MeasureAsync(options, cancellationToken);
        new LoadReport(ceilings).Write(Console.Out, load: null, pipeline: null, cpu: null);
    }
}
