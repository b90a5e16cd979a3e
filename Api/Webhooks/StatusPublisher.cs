using System.Diagnostics;
using System.Threading.Channels;
using GovSg.Api.Extensions;
using GovSg.Contracts;
using GovSg.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Webhooks;

/// <summary>
/// Hands webhook statuses to the broker. Meta sends one status per webhook, three per message, so at agency rates a
/// confirmed publish per webhook (and a delivery to the Dispatcher, and a transaction there) cost more than the rest of
/// a message: the statuses of the webhooks that queued up while the previous publish was being confirmed (and within
/// <see cref="WebhookOptions.PublishWindow"/> of the first one waiting, when one is set) go out in one confirmed
/// publish, and each webhook is answered once the publish holding its statuses is confirmed (SPEC §6). The publish runs
/// in the trace of the first of them, linked to the others'. A webhook that stopped waiting (answered 503, so Meta
/// delivers it again) is left out of the publishes still to come: while the broker is slow, the queue holds about two
/// publish timeouts' worth of webhooks, and the fresh ones do not wait behind those already given up.
/// </summary>
public sealed class StatusPublisher : IAsyncDisposable
{
    /// <summary>The most statuses in one publish; a single webhook with more goes alone.</summary>
    public const int MaxStatuses = 1_000;

    private static readonly ActivitySource Source = new(ApiMetrics.MeterName);

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IBus _bus;
    private readonly TimeProvider _time;
    private readonly WebhookOptions _options;
    private readonly Task _worker;

    public StatusPublisher(IBus bus, IOptions<WebhookOptions> options, TimeProvider time)
    {
        _bus = bus;
        _time = time;
        _options = options.Value;
        // The worker outlives the request that first resolves this: it must not carry that request's trace along.
        using (ExecutionContext.SuppressFlow())
        {
            _worker = Task.Run(WorkAsync);
        }
    }

    /// <summary>Completes once the broker confirmed a publish holding <paramref name="statuses"/>.</summary>
    public Task PublishAsync(IReadOnlyList<ProviderStatus> statuses, CancellationToken cancellationToken)
    {
        var pending = new Pending(statuses, Activity.Current?.Context, _time.GetUtcNow(),
            new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);
        return pending.Published.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker;
    }

    private async Task WorkAsync()
    {
        var batch = new List<Pending>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            if (_queue.Reader.TryPeek(out var first)
                && first.ArrivedAt + _options.PublishWindow - _time.GetUtcNow() is var wait && wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time);
            }

            var count = 0;
            while ((batch.Count == 0 || count + NextCount() <= MaxStatuses) && _queue.Reader.TryRead(out var pending))
            {
                if (pending.GivenUp.IsCancellationRequested)
                {
                    pending.Published.TrySetCanceled(pending.GivenUp);
                    continue;
                }

                batch.Add(pending);
                count += pending.Statuses.Count;
            }

            if (batch.Count > 0)
            {
                await PublishAsync(batch);
            }

            batch.Clear();
        }

        int NextCount() => _queue.Reader.TryPeek(out var next) ? next.Statuses.Count : 0;
    }

    private async Task PublishAsync(List<Pending> batch)
    {
        var links = batch.Skip(1).Select(p => p.Trace).OfType<ActivityContext>().Select(c => new ActivityLink(c));
        using var activity = Source.StartActivity("publish statuses", ActivityKind.Internal, batch[0].Trace ?? default, links: links);
        activity?.SetTag("govsg.webhooks", batch.Count);
        using var timeout = new CancellationTokenSource(_options.PublishTimeout, _time);
        try
        {
            // Mandatory: statuses no queue takes fail the webhooks, which Meta retries, rather than being dropped.
            await _bus.Publish<ProviderStatusesReceived>(new([.. batch.SelectMany(p => p.Statuses)]), Publishing.Mandatory,
                timeout.Token);
            batch.ForEach(p => p.Published.TrySetResult());
        }
        catch (Exception exception)
        {
            batch.ForEach(p => p.Published.TrySetException(exception));
        }
    }

    private sealed record Pending(IReadOnlyList<ProviderStatus> Statuses, ActivityContext? Trace, DateTimeOffset ArrivedAt,
        TaskCompletionSource Published, CancellationToken GivenUp);
}
