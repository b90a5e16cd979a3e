namespace GovSg.Dispatcher.Sending;

/// <summary>
/// On shutdown, after every hosted service (the bus included) has stopped and before the host disposes its services,
/// waits for the send batches under way to record their outcomes — messages waiting for a slot are handed back at
/// once, calls already made finish — so no claim is left to lapse.
/// </summary>
public sealed class SendDrain(MessageSender sender) : IHostedLifecycleService
{
    public Task StoppedAsync(CancellationToken cancellationToken) => sender.DrainAsync(cancellationToken);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
