using GovSg.LoadGenerator.Ceilings;
using GovSg.LoadGenerator.Cli;
using GovSg.LoadGenerator.Cpu;
using GovSg.LoadGenerator.Pipeline;
using GovSg.LoadGenerator.Reads;
using GovSg.LoadGenerator.Reporting;
using GovSg.LoadGenerator.Setup;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// <c>send</c>: creates the run's users, loads the Api, then (unless the dispatchers are stopped) waits for the messages
/// to drain and reads the pipeline's timings from PostgreSQL, and finally measures the machine's ceilings — after the
/// load, so the probes never compete with it. The CPU each part used is sampled from the end of the warm-up to the end
/// of the load, or of the drain when there is one, so it covers the measured messages' whole way. With
/// <c>--history</c> the database first gets that many older messages and fresh statistics, as a production one has:
/// a brand-new table's first query plans are made for a table of a few rows, and kept until autovacuum first analyzes
/// it.
/// </summary>
internal sealed class SendCommand(SendOptions options, Connections connections, TimeProvider time) : IBenchmarkCommand
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var progress = Console.Error;
        await using var dataSource = Database.Create(connections.Postgres, options.Ceilings?.Concurrency ?? 0);
        if (options.History > 0)
        {
            await new ReadSeeder(dataSource, time, progress).SeedAsync(options.History / 2, ReadSeeder.DefaultSpreadUsers, cancellationToken);
        }

        var users = await CreateUsersAsync(new RunUsers(dataSource, time), cancellationToken);
        await progress.WriteLineAsync($"[send] run {options.RunId}: {options.Users} users, {options.Plan.Describe()}");

        var processes = await SystemProcesses.FindAsync(dataSource, options.PidFolder, cancellationToken);
        var cpuFrom = SampleAfterAsync(processes, options.Plan.Warmup, cancellationToken);
        using var http = SendClient.CreateHttpClient(connections.Api, options.RequestTimeout);
        var client = new SendClient(http);
        var load = options.Plan.Rate is not null
            ? await new OpenLoopDriver(client, users, new Recipients(), time).RunAsync(options.Plan, cancellationToken)
            : await new ClosedLoopDriver(client, users, new Recipients(), time).RunAsync(options.Plan, cancellationToken);

        PipelineResult? pipeline = null;
        if (options.Drain != DrainTarget.None)
        {
            var store = new PipelineStore(dataSource);
            var userIds = users.Measured.Select(user => user.Id).ToArray();
            pipeline = await PipelineResult.CollectAsync(store, new DrainWaiter(store, time, progress), userIds,
                options.Drain, options.DrainTimeout, cancellationToken);
        }

        var cpu = processes.Sample().Since(await cpuFrom);
        var ceilings = options.Ceilings is null
            ? null
            : await new CeilingRunner(dataSource, connections, time, progress).MeasureAsync(options.Ceilings, cancellationToken);

        Console.WriteLine($"run {options.RunId} ({options.Users} users)");
        new LoadReport(ceilings).Write(Console.Out, load, pipeline, cpu);
    }

    private async Task<CpuSample> SampleAfterAsync(SystemProcesses processes, TimeSpan warmup, CancellationToken cancellationToken)
    {
        await Task.Delay(warmup, time, cancellationToken);
        return processes.Sample();
    }

    private async Task<SendingUsers> CreateUsersAsync(RunUsers runUsers, CancellationToken cancellationToken)
    {
        var pepper = Pepper.Load();
        var measured = await runUsers.CreateAsync(options.RunId, options.Users, warmup: false, pepper, options.CallbackUrl,
            cancellationToken);
        var warmup = options.Plan.Warmup > TimeSpan.Zero
            ? await runUsers.CreateAsync(options.RunId, options.Users, warmup: true, pepper, options.CallbackUrl, cancellationToken)
            : measured;
        return new SendingUsers(warmup, measured);
    }
}
