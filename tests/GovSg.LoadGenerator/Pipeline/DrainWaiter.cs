using System.Diagnostics;

namespace GovSg.LoadGenerator.Pipeline;

/// <summary>
/// Polls until the run's messages reach the target, or the timeout passes, showing progress now and then. READ also
/// waits for the run's callbacks to be delivered, so a run with callbacks on measures their whole cost.
/// </summary>
internal sealed class DrainWaiter(PipelineStore store, TimeProvider time, TextWriter progress)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    public async Task<DrainOutcome> WaitAsync(long[] userIds, DrainTarget target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Debug.Assert(target != DrainTarget.None);
        var started = time.GetTimestamp();
        var reported = started;
        while (true)
        {
            var current = await store.ProgressAsync(userIds, cancellationToken);
            var remaining = target == DrainTarget.Read ? current.Unread + current.CallbacksPending : current.Unsent;
            var waited = time.GetElapsedTime(started);
            if (remaining == 0 || waited >= timeout)
            {
                return new DrainOutcome(target, remaining == 0, waited, current);
            }

            if (time.GetElapsedTime(reported) >= ProgressInterval)
            {
                await progress.WriteLineAsync(
                    $"[drain] {waited.TotalSeconds:0} s: {current.Unsent:N0} UNSENT, {current.Unread:N0} not yet READ or ERROR of {current.Total:N0}, {current.CallbacksPending:N0} callbacks pending");
                reported = time.GetTimestamp();
            }

            await Task.Delay(PollInterval, time, cancellationToken);
        }
    }
}

internal sealed record DrainOutcome(DrainTarget Target, bool Reached, TimeSpan Waited, DrainProgress Progress)
{
    public string Describe() => Reached
        ? $"{(Target == DrainTarget.Read ? "all READ or ERROR, no callback pending" : "none UNSENT")} after waiting {Waited.TotalSeconds:0.0} s"
        : $"timed out after {Waited.TotalSeconds:0} s: {Progress.Unsent:N0} UNSENT, {Progress.Unread:N0} not READ or ERROR, {Progress.CallbacksPending:N0} callbacks pending";
}
