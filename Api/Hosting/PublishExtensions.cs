using MassTransit;

namespace GovSg.Hosting;

public static class PublishExtensions
{
    /// <summary>
    /// Publishes with a bounded wait. A broker that is stopping or blocks publishers (a resource alarm) holds a publish:
    /// it may ignore its token (it waits for a confirm that never comes) or block before it returns a task, so it runs
    /// apart and the wait itself ends after <paramref name="timeout"/> with an <see cref="OperationCanceledException"/>.
    /// </summary>
    public static async Task PublishWithinAsync<T>(this IPublishEndpoint bus, T message, TimeSpan timeout,
        CancellationToken cancellationToken) where T : class
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await Task.Run(() => bus.Publish(message, deadline.Token), deadline.Token).WaitAsync(deadline.Token);
    }
}
