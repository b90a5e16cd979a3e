using Microsoft.Extensions.Options;

namespace GovSg.WhatsAppSimulator.Webhooks;

/// <summary>
/// The one loop that posts webhooks: every tick it takes what has fallen due, batches statuses into POSTs and sends
/// them with bounded concurrency, so thousands of statuses a second cost a few dozen POSTs and no timer each. With
/// nothing queued it sleeps until something is, so an idle simulator does not wake a hundred times a second.
/// </summary>
internal sealed class WebhookDispatcher(
    WebhookQueue queue,
    WebhookSender sender,
    IOptions<SimulatorOptions> options,
    TimeProvider time) : BackgroundService
{
    // Statuses falling due within one tick share a POST; 10 ms is well under any delay a test or benchmark asks for.
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var maxBatch = options.Value.WebhookMaxBatch;
        var concurrency = options.Value.WebhookConcurrency;
        using var slots = new SemaphoreSlim(concurrency, concurrency);
        try
        {
            while (true)
            {
                await queue.WhenNotEmpty().WaitAsync(stoppingToken);
                await Task.Delay(Tick, time, stoppingToken);
                var now = time.GetUtcNow();
                foreach (var retry in queue.TakeDueRetries(now))
                {
                    await StartAsync(retry);
                }

                while (queue.TakeDueStatuses(now, maxBatch) is { Count: > 0 } batch)
                {
                    await StartAsync(sender.Prepare(batch));
                }
            }
        }
        finally
        {
            // Let the POSTs still in flight end (the stopping token cancels them) before their semaphore goes away.
            for (var i = 0; i < concurrency; i++)
            {
                await slots.WaitAsync(CancellationToken.None);
            }
        }

        async Task StartAsync(WebhookDelivery delivery)
        {
            await slots.WaitAsync(stoppingToken);
            _ = SendAndReleaseAsync(delivery);
        }

        async Task SendAndReleaseAsync(WebhookDelivery delivery)
        {
            try
            {
                await sender.SendAsync(delivery, stoppingToken);
            }
            finally
            {
                slots.Release();
            }
        }
    }
}
