using GovSg.Dispatcher.Scheduling;
using GovSg.Dispatcher.Statuses;
using Microsoft.Extensions.Options;
using Npgsql;

namespace GovSg.Dispatcher.TestKeys;

/// <summary>
/// Delivers the simulated provider's receipts for test messages (SPEC §11.2) through the same path as WhatsApp's
/// webhooks (<see cref="StatusApplier"/>), so their status rules, events and callbacks are the live ones. Sleeps until
/// the next receipt is due, or until this dispatcher accepts a test message (<see cref="Wake"/>): idle, it runs one
/// query per <see cref="TestKeyOptions.Rescan"/>. Every dispatcher runs it; applying a receipt twice changes nothing.
/// </summary>
public sealed class SimulatedReceipts(
    SimulatedReceiptStore store,
    StatusApplier statuses,
    IOptions<TestKeyOptions> options,
    TimeProvider time,
    ILogger<SimulatedReceipts> logger) : BackgroundService
{
    private static readonly TimeSpan AfterFailure = TimeSpan.FromSeconds(1);

    private readonly TestKeyOptions _options = options.Value;
    private readonly WakeSchedule _wake = new(time);

    /// <summary>A test message was just accepted: its first receipt may be due before the loop meant to look again.</summary>
    public void Wake() => _wake.Wake();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            _wake.Reset();
            TimeSpan wait;
            try
            {
                wait = await DeliverDueAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Delivering simulated receipts failed ({Error}); trying again in {Wait}", exception.Message, AfterFailure);
                wait = AfterFailure;
            }

            await _wake.WaitAsync(time.GetUtcNow().UtcDateTime + wait, stoppingToken);
        }
    }

    /// <summary>
    /// Applies the receipts that are due; returns how long until the next one (at most the rescan time), or zero when
    /// it applied some, as their messages now wait for their next receipts.
    /// </summary>
    public async Task<TimeSpan> DeliverDueAsync(CancellationToken cancellationToken)
    {
        var waiting = await store.SoonestAsync(_options, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var receipts = waiting
            .Select(m => (Message: m, Receipt: TestProvider.NextReceipt(m.Recipient, m.Status, _options)))
            .Where(r => r.Receipt is not null)
            .Select(r => (r.Message, Receipt: r.Receipt!, DueAt: r.Message.AcceptedAt + r.Receipt!.After))
            .ToList();
        var due = receipts.Where(r => r.DueAt <= now).ToList();
        if (due.Count > 0)
        {
            await statuses.ApplyAsync(due.Select(r => new StatusEvent(r.Message.ProviderMessageId, r.Receipt.Status,
                r.DueAt, r.Receipt.ErrorCode, r.Receipt.ErrorDescription)).ToList(), cancellationToken);
            // Each receipt applied moves its message on (its status is below the receipt's), so the message's next
            // receipt is the one to wait for now: look again.
            return TimeSpan.Zero;
        }

        var next = receipts.Where(r => r.DueAt > now).Select(r => r.DueAt - now).DefaultIfEmpty(_options.Rescan).Min();
        return next < _options.Rescan ? next : _options.Rescan;
    }
}
