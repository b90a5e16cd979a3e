using GovSg.LoadGenerator.Cli;
using Npgsql;

namespace GovSg.LoadGenerator.Ceilings;

/// <summary>Measures both ceilings one after the other, so neither competes with the other for the machine.</summary>
internal sealed class CeilingRunner(NpgsqlDataSource dataSource, Connections connections, TimeProvider time, TextWriter progress)
{
    public async Task<CeilingResults> MeasureAsync(CeilingOptions options, CancellationToken cancellationToken)
    {
        var length = $"{options.Concurrency} concurrent, {options.Duration.TotalSeconds:0.#} s";
        await progress.WriteLineAsync($"[ceilings] pgbench: single-row INSERTs into PostgreSQL, {length}");
        var inserts = await new PgbenchCeiling(dataSource, connections.Postgres).MeasureAsync(options, cancellationToken);
        await progress.WriteLineAsync($"[ceilings] confirmed MassTransit publishes to RabbitMQ, {length}");
        var publishes = await new PublishCeiling(connections.RabbitMq, time).MeasureAsync(options, cancellationToken);
        return new CeilingResults(options.Concurrency, inserts, publishes);
    }
}
