using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Reporting;
using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Cpu;

/// <summary>
/// <c>cpu</c>: the cores each part of the running system uses over a window while the tool sends nothing — with no
/// other traffic, what an idle system costs.
/// </summary>
internal sealed class CpuCommand(TimeSpan duration, string pidFolder, Connections connections, TimeProvider time) : IBenchmarkCommand
{
    public static CpuCommand From(CommandLine line, Connections connections, TimeProvider time) =>
        new(line.Duration("duration") ?? TimeSpan.FromSeconds(60), PidFolder(line), connections, time);

    /// <summary>Where deploy/local/up.sh leaves the services' pid files, relative to the repository root.</summary>
    public static string PidFolder(CommandLine line) => line.String("pid-folder") ?? ".local";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var dataSource = Database.Create(connections.Postgres, 0);
        var processes = await SystemProcesses.FindAsync(dataSource, pidFolder, cancellationToken);
        await Console.Error.WriteLineAsync($"[cpu] sampling for {duration.TotalSeconds:0.#} s");
        var start = processes.Sample();
        await Task.Delay(duration, time, cancellationToken);
        new LoadReport(null).Write(Console.Out, load: null, pipeline: null, processes.Sample().Since(start));
    }
}
