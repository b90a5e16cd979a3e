using Dapper;
using Npgsql;

namespace GovSg.Api.Messages;

/// <summary>
/// Lets requests with <c>Prefer: wait</c> sleep until their message leaves UNSENT. One poller per replica checks all
/// waited-on ids in a single query per tick, so the database cost does not grow with the number of waiting requests;
/// while nobody waits it sleeps until the first wait, so an idle replica does not wake every tick.
/// Several requests may wait on one message (idempotent replays): the message is watched until the last of them
/// leaves. Each user holds at most <see cref="MaxWaitsPerUser"/> waits at once on each replica (SPEC §7 counts per user;
/// with N replicas behind a balancer a user can hold up to N times as many): the cap protects a replica's requests from
/// one agency, and counting across replicas would cost a database round trip on every wait.
/// </summary>
public sealed class StatusWaiter(NpgsqlDataSource dataSource, TimeProvider time, ILogger<StatusWaiter> logger) : BackgroundService
{
    public const int MaxWaitsPerUser = 20;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private const string LeftUnsentSql = "SELECT id FROM messages WHERE id = ANY(@ids) AND status <> 'UNSENT'";

    // Both maps change together under one lock; only Prefer: wait requests take it, twice each.
    private readonly Lock _gate = new();
    private readonly Dictionary<long, Watch> _watches = [];
    private readonly Dictionary<long, int> _waitsByUser = [];
    private TaskCompletionSource _anyWatch = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes when the message has left UNSENT or the time is up, whichever is first, and returns true; returns
    /// false at once, without waiting, when the user already holds <see cref="MaxWaitsPerUser"/> waits.
    /// </summary>
    public async Task<bool> WaitAsync(long userId, long messageId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Watch watch;
        lock (_gate)
        {
            var held = _waitsByUser.GetValueOrDefault(userId);
            if (held >= MaxWaitsPerUser)
            {
                return false;
            }

            _waitsByUser[userId] = held + 1;
            if (!_watches.TryGetValue(messageId, out watch!))
            {
                _watches[messageId] = watch = new Watch();
                _anyWatch.TrySetResult();
            }

            watch.Waiters++;
        }

        try
        {
            await watch.Signal.Task.WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Answering with the current state (still UNSENT) is the contract on timeout.
        }
        finally
        {
            lock (_gate)
            {
                if (--watch.Waiters == 0 && _watches.Remove(messageId) && _watches.Count == 0)
                {
                    _anyWatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                if (--_waitsByUser[userId] == 0)
                {
                    _waitsByUser.Remove(userId);
                }
            }
        }

        return true;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            Task anyWatch;
            lock (_gate)
            {
                anyWatch = _anyWatch.Task;
            }

            await anyWatch.WaitAsync(stoppingToken);
            await Task.Delay(PollInterval, time, stoppingToken);
            long[] ids;
            lock (_gate)
            {
                ids = [.. _watches.Keys];
            }

            if (ids.Length == 0)
            {
                continue;
            }

            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                var left = await connection.QueryAsync<long>(
                    new CommandDefinition(LeftUnsentSql, new { ids }, cancellationToken: stoppingToken));
                lock (_gate)
                {
                    foreach (var id in left)
                    {
                        if (_watches.TryGetValue(id, out var watch))
                        {
                            watch.Signal.TrySetResult();
                        }
                    }
                }
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
            {
                logger.LogWarning(exception, "Checking waited-on messages failed; retrying on the next tick");
            }
        }
    }

    /// <summary>One message's signal, shared by every request waiting on it; removed when the last one leaves.</summary>
    private sealed class Watch
    {
        public TaskCompletionSource Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Waiters { get; set; }
    }
}
