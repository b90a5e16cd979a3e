using GovSg.Dispatcher.Sending;

namespace GovSg.Dispatcher.TestKeys;

/// <summary>
/// Sends claimed test messages to the simulated provider (<see cref="TestProvider"/>) instead of WhatsApp: no call, no
/// slot of the provider's pace, no effect on its health. The simulated answers go through the live path's
/// <see cref="FailurePolicy"/> and <see cref="SendOutcomeWriter"/>, so acceptance, failure and retries (on the normal
/// schedule) are written, and recorded as events, exactly as for live messages.
/// </summary>
public sealed class TestSender(FailurePolicy policy, SendOutcomeWriter writer, SimulatedReceipts receipts)
{
    public async Task SendAsync(IReadOnlyList<ClaimedMessage> messages, DateTime now)
    {
        if (messages.Count == 0)
        {
            return;
        }

        var decisions = messages
            .Select(m => (m, policy.Decide(m, TestProvider.Send(m), pausedUntil: null, Random.Shared.NextDouble())))
            .ToList();
        await writer.WriteAsync(decisions, now);
        receipts.Wake();
    }
}
