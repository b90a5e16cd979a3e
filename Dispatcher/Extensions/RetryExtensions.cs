using GovSg.Hosting;
using MassTransit;

namespace GovSg.Dispatcher.Extensions;

public static class RetryExtensions
{
    // At most this long between two tries while the database is away, so its return is noticed within it.
    private static readonly TimeSpan MaxDatabaseRetryInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Retries a message whose handling failed because the database is away (<see cref="PostgresRefusals.IsUnavailable"/>:
    /// restarting, unreachable, refusing connections or our login) until it is back, in memory: the message stays
    /// unacknowledged on this consumer instead of being requeued, so no broker delivery count grows (a RabbitMQ 4.x
    /// quorum queue drops a message after 20 requeues) and nothing is parked in an error queue (SPEC §8). If this
    /// dispatcher stops meanwhile, the broker hands the message to another one, once. Other failures pass through to the
    /// endpoint's own short retry.
    /// </summary>
    public static void UseRetryWhileTheDatabaseIsAway(this IReceiveEndpointConfigurator endpoint) =>
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(PostgresRefusals.IsUnavailable);
            retry.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(100), MaxDatabaseRetryInterval,
                TimeSpan.FromMilliseconds(200));
        });

    /// <summary>A failure trying again will not cure: neither the database away nor a shutdown.</summary>
    public static bool IsPermanent(Exception exception) =>
        !PostgresRefusals.IsUnavailable(exception) && exception is not OperationCanceledException;
}
