using MassTransit;
using Npgsql;

namespace GovSg.Dispatcher.Extensions;

public static class RetryExtensions
{
    // At most this long between two tries while the database is away, so its return is noticed within it.
    private static readonly TimeSpan MaxDatabaseRetryInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Retries a message whose handling failed because the database is away (restarting, unreachable, refusing
    /// connections) until it is back, in memory: the message stays unacknowledged on this consumer instead of being
    /// requeued, so no broker delivery count grows (a RabbitMQ 4.x quorum queue drops a message after 20 requeues) and
    /// nothing is parked in an error queue (SPEC §8). If this dispatcher stops meanwhile, the broker hands the message to
    /// another one, once. Other failures pass through to the endpoint's own short retry.
    /// </summary>
    public static void UseRetryWhileTheDatabaseIsAway(this IReceiveEndpointConfigurator endpoint) =>
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(WaitsForTheDatabase);
            retry.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(100), MaxDatabaseRetryInterval,
                TimeSpan.FromMilliseconds(200));
        });

    /// <summary>
    /// A failure the database's return cures: those Npgsql marks transient (connection failures, shutdowns, a full disk,
    /// deadlocks) and a server that takes no writes now (<see cref="PostgresRefusals.TakesNoWrites"/>).
    /// </summary>
    public static bool IsDatabaseAway(NpgsqlException exception) =>
        exception.IsTransient || PostgresRefusals.TakesNoWrites(exception);

    /// <summary>A failure to try again once the database answers: it is away, or a command timed out.</summary>
    public static bool WaitsForTheDatabase(Exception exception) =>
        exception is TimeoutException || (exception is NpgsqlException npgsql && IsDatabaseAway(npgsql));

    /// <summary>A failure trying again will not cure: neither the database away nor a shutdown.</summary>
    public static bool IsPermanent(Exception exception) =>
        !WaitsForTheDatabase(exception) && exception is not OperationCanceledException;
}
