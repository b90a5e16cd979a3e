using GovSg.LoadGenerator.Ceilings;
using GovSg.LoadGenerator.Cpu;
using GovSg.LoadGenerator.Measurement;
using GovSg.LoadGenerator.Pipeline;
using GovSg.LoadGenerator.Sending;

namespace GovSg.LoadGenerator.Reporting;

/// <summary>
/// The table a run ends with. When the ceilings were measured, every rate of ours is also shown as a ratio to them: an
/// accepted POST costs at least one INSERT and one confirmed publish, so a ratio says how close a figure comes to what
/// the machine's database or broker could do at all. The CPU each part used over the measured window, per message,
/// is the figure that moves least with the machine's speed.
/// </summary>
internal sealed class LoadReport(CeilingResults? ceilings)
{
    private static readonly double[] PostPercentiles = [0.50, 0.95, 0.99];

    public void Write(TextWriter output, LoadResult? load, PipelineResult? pipeline, CpuUsage? cpu)
    {
        var table = ceilings is null || (load is null && pipeline is null)
            ? new TextTable("figure", "value")
            : new TextTable("figure", "value", "× pgbench INSERTs", "× publishes");
        if (ceilings is not null)
        {
            table.Section($"machine ceilings, measured in this run at {ceilings.Concurrency} concurrent");
            table.Add("pgbench single-row INSERTs/s (tps)", Figures.Rate(ceilings.InsertsPerSecond));
            table.Add("RabbitMQ confirmed publishes/s (MassTransit)", Figures.Rate(ceilings.PublishesPerSecond));
        }

        if (load is not null)
        {
            AddLoad(table, load);
        }

        if (pipeline is not null)
        {
            AddPipeline(table, pipeline);
        }

        if (ceilings is not null || load is not null || pipeline is not null)
        {
            table.WriteTo(output);
        }

        if (cpu is not null)
        {
            WriteCpu(output, cpu, load?.Accepted);
        }
    }

    private void AddLoad(TextTable table, LoadResult load)
    {
        var success = LoadResult.Success(load.Plan);
        var route = load.Plan.BatchSize > 1 ? "batch" : "send";
        table.Section($"POST /v1/transactional/govsg/{route} — {load.Plan.Describe()}");
        table.Add("measured window (s)", Figures.Seconds(load.Window));
        table.Add($"answered {success}", Figures.Count(load.Statuses[success]));
        if (load.Plan.BatchSize > 1)
        {
            table.Add("messages accepted", Figures.Count(load.Accepted));
        }

        if (load.Plan.Rate is { } offered)
        {
            Rate(table, "offered rate (/s)", offered);
        }

        Rate(table, "ingest rate achieved (messages/s)", load.AcceptedPerSecond);
        if (load.Plan.Rate is not null)
        {
            table.Add("sends not issued on time (in-flight cap)", Figures.Count(load.NotIssued));
        }

        foreach (var share in PostPercentiles)
        {
            table.Add($"POST latency p{share * 100:0} (ms)", Figures.Milliseconds(load.Latency.Percentile(share)));
        }

        table.Add("POST latency max (ms)", Figures.Milliseconds(load.Latency.Count > 0 ? load.Latency.Max : null));
        if (load.Plan.Rate is not null)
        {
            // Part of the latency above: the generator shares the machine, and a send it issues late counts from its due time.
            table.Add("POST issued late by the generator, p99 (ms)", Figures.Milliseconds(load.Lateness.Percentile(0.99)));
        }

        // SPEC §8: no request is held longer than this because of the broker.
        table.Add("POST answered after 2 s", Figures.Count(load.Latency.CountAbove(TimeSpan.FromSeconds(2))));
        var errors = load.Statuses.Except(success).ToList();
        if (errors.Count == 0)
        {
            table.Add("errors", "none");
        }

        foreach (var (status, count) in errors)
        {
            table.Add(status == StatusCounts.NoResponse ? "errors: no response (timeout, connection)" : $"errors: HTTP {status}",
                Figures.Count(count));
        }
    }

    private void AddPipeline(TextTable table, PipelineResult pipeline)
    {
        var stats = pipeline.Stats;
        table.Section($"pipeline, from PostgreSQL — {pipeline.Drain.Describe()}");
        table.Add("POST→ACCEPTED p50 (ms)", Figures.Milliseconds(stats.AcceptedP50Ms));
        table.Add("POST→ACCEPTED p99 (ms)", Figures.Milliseconds(stats.AcceptedP99Ms));
        table.Add("POST→ACCEPTED max (ms)", Figures.Milliseconds(stats.AcceptedMaxMs));
        table.Add("POST→READ p50 (ms)", Figures.Milliseconds(stats.ReadP50Ms));
        table.Add("POST→READ p99 (ms)", Figures.Milliseconds(stats.ReadP99Ms));
        table.Add("POST→READ max (ms)", Figures.Milliseconds(stats.ReadMaxMs));
        Rate(table, "dispatcher throughput (ACCEPTED/s, middle 90%)", stats.DispatcherThroughput);
        table.Add("first→last ACCEPTED (s)", Figures.Seconds(stats.AcceptedSpan));
        Rate(table, "  ACCEPTED/s over that span", stats.AcceptedSpanRate);
        table.Add("first ACCEPTED→last READ (s)", Figures.Seconds(stats.ReadSpan));
        Rate(table, "  READ/s over that span", stats.ReadSpanRate);
        foreach (var (status, count) in pipeline.Statuses)
        {
            table.Add($"messages now {status}", Figures.Count(count));
        }
    }

    /// <summary>CPU seconds, cores (seconds per second of the window) and, after a load, milliseconds per accepted message.</summary>
    private static void WriteCpu(TextWriter output, CpuUsage cpu, long? messages)
    {
        var table = new TextTable("CPU by part (from /proc)", "CPU s", "cores", "ms per message");
        var perMessage = messages > 0 ? $", {messages:N0} measured messages" : ", no load";
        table.Section($"over the measured window of {Figures.Seconds(cpu.Window)} s{perMessage}");
        foreach (var (part, seconds) in cpu.Parts.Append(("Api + Dispatchers + PostgreSQL + RabbitMQ", cpu.CoreSeconds)))
        {
            table.Add(part, Figures.Precise(seconds), Figures.Cores(seconds / cpu.Window.TotalSeconds),
                messages > 0 ? Figures.Precise(seconds * 1000 / messages.Value) : "-");
        }

        table.WriteTo(output);
    }

    private void Rate(TextTable table, string label, double? perSecond)
    {
        if (ceilings is null)
        {
            table.Add(label, Figures.Rate(perSecond));
        }
        else
        {
            table.Add(label, Figures.Rate(perSecond), Figures.Ratio(perSecond, ceilings.InsertsPerSecond),
                Figures.Ratio(perSecond, ceilings.PublishesPerSecond));
        }
    }
}
