using System.Collections.Concurrent;
using Dapper;
using Npgsql;

namespace GovSg.Api.Messages;

/// <summary>
/// Lets requests with <c>Prefer: wait</c> sleep until their message leaves UNSENT. One poller per replica checks all
/// waiting ids in a single query per tick, so the database cost does not grow with the number of waiting requests.
/// </summary>
public sealed class StatusWaiter(NpgsqlDataSource dataSource, TimeProvider time, ILogger<StatusWaiter> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private const string LeftUnsentSql = "SELECT id FROM messages WHERE id = ANY(@ids) AND status <> 'UNSENT'";

    private readonly ConcurrentDictionary<long, TaskCompletionSource> _waiting = new();

    /// <summary>Completes when the message has left UNSENT or the time is up, whichever is first.</summary>
    public async Task WaitAsync(long messageId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var signal = _waiting.GetOrAdd(messageId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        try
        {
            await signal.Task.WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Answering with the current state (still UNSENT) is the contract on timeout.
        }
        finally
        {
            _waiting.TryRemove(new KeyValuePair<long, TaskCompletionSource>(messageId, signal));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (_waiting.IsEmpty)
            {
                continue;
            }

            try
            {
                var ids = _waiting.Keys.ToArray();
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                foreach (var id in await connection.QueryAsync<long>(
                             new CommandDefinition(LeftUnsentSql, new { ids }, cancellationToken: stoppingToken)))
                {
                    if (_waiting.TryGetValue(id, out var signal))
                    {
                        signal.TrySetResult();
                    }
                }
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
            {
                logger.LogWarning(exception, "Checking waited-on messages failed; retrying on the next tick");
            }
        }
    }
}
