using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.Sending;

/// <summary>
/// Keeps this dispatcher's send rate at its share of the number's limit: every few seconds it records a heartbeat and
/// counts the dispatchers alive, and the <see cref="ProviderGate"/> paces at limit ÷ count. A dispatcher that stops
/// removes itself; one that dies drops out when its heartbeat goes stale.
/// </summary>
public sealed class ThroughputShare(
    NpgsqlDataSource dataSource,
    ProviderGate gate,
    IOptions<WhatsAppOptions> options,
    TimeProvider time,
    ILogger<ThroughputShare> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Stale = TimeSpan.FromSeconds(10);

    private const string HeartbeatSql = """
        INSERT INTO dispatcher_instances (instance_id, heartbeat_at) VALUES (@id, @now)
        ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at;
        DELETE FROM dispatcher_instances WHERE heartbeat_at < @staleBefore;
        SELECT count(*)::int FROM dispatcher_instances;
        """;

    private const string LeaveSql = "DELETE FROM dispatcher_instances WHERE instance_id = @id";

    private readonly string _id = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var now = time.GetUtcNow().UtcDateTime;
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                var live = await connection.ExecuteScalarAsync<int>(new CommandDefinition(HeartbeatSql,
                    new { id = _id, now, staleBefore = now - Stale }, cancellationToken: stoppingToken));
                gate.SetShare(options.Value.MessagesPerSecond / (double)Math.Max(1, live));
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
            {
                logger.LogWarning(exception, "Could not refresh this dispatcher's throughput share; keeping the last one");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(LeaveSql, new { id = _id }, cancellationToken: cancellationToken));
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            logger.LogWarning(exception, "Could not withdraw this dispatcher's throughput share; it lapses in {Stale}", Stale);
        }
    }
}
