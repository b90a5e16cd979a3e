using MassTransit;

namespace GovSg.Hosting;

public static class Publishing
{
    /// <summary>
    /// Marks a publish mandatory. RabbitMQ confirms a message it can route to no queue (a broker brand new or restored
    /// without its queues, before a Dispatcher declared them again) and drops it; a mandatory one is returned instead,
    /// and its publish fails with a <see cref="MessageReturnedException"/>, so that the caller keeps it.
    /// </summary>
    public static readonly Action<PublishContext> Mandatory = context =>
    {
        if (context.TryGetPayload<RabbitMqSendContext>(out var rabbitMq))
        {
            rabbitMq.Mandatory = true;
        }
    };

    /// <summary>
    /// Publishes a command, <see cref="Mandatory"/>, with a bounded wait. A broker that is stopping or blocks publishers (a
    /// resource alarm) holds a publish: it may ignore its token (it waits for a confirm that never comes) or block before
    /// it returns a task, so it runs apart and the wait itself ends after <paramref name="timeout"/> with an
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task PublishWithinAsync<T>(this IPublishEndpoint bus, T message, TimeSpan timeout,
        CancellationToken cancellationToken) where T : class
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await Task.Run(() => bus.Publish<T>(message, Mandatory, deadline.Token), deadline.Token).WaitAsync(deadline.Token);
    }
}
