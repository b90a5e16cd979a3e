using GovSg.Dispatcher.Sweeping;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

public sealed class SweepScheduleTests
{
    // Completions run on the thread pool; the real-time guard only keeps a broken schedule from hanging the run.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    [Test]
    public async Task WaitAsync_WhenNothingIsReported_ReturnsAtItsTimeAndNotBefore()
    {
        var clock = new FakeTimeProvider();
        var schedule = new SweepSchedule(clock);

        var waiting = schedule.WaitAsync(clock.GetUtcNow().UtcDateTime.AddSeconds(5), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(4.9));
        var completedEarly = waiting.IsCompleted;
        clock.Advance(TimeSpan.FromSeconds(0.1));

        Assert.That(completedEarly, Is.False);
        await waiting.WaitAsync(Guard);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task WaitAsync_WhenAnEarlierTimeIsReportedDuringTheSleep_ReturnsThen()
    {
        var clock = new FakeTimeProvider();
        var schedule = new SweepSchedule(clock);
        var start = clock.GetUtcNow().UtcDateTime;

        var waiting = schedule.WaitAsync(start.AddSeconds(5), CancellationToken.None);
        schedule.Due(start.AddSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(0.9));
        var completedEarly = waiting.IsCompleted;
        clock.Advance(TimeSpan.FromSeconds(0.1));

        Assert.That(completedEarly, Is.False);
        await waiting.WaitAsync(Guard);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task WaitAsync_WhenALaterTimeIsReported_SleepsUntilItsOwnTime()
    {
        var clock = new FakeTimeProvider();
        var schedule = new SweepSchedule(clock);
        var start = clock.GetUtcNow().UtcDateTime;

        var waiting = schedule.WaitAsync(start.AddSeconds(5), CancellationToken.None);
        schedule.Due(start.AddSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(4.9));
        var completedEarly = waiting.IsCompleted;
        clock.Advance(TimeSpan.FromSeconds(0.1));

        Assert.That(completedEarly, Is.False);
        await waiting.WaitAsync(Guard);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task WaitAsync_WhenATimeWasReportedBeforeTheSleep_ReturnsThen()
    {
        var clock = new FakeTimeProvider();
        var schedule = new SweepSchedule(clock);
        var start = clock.GetUtcNow().UtcDateTime;

        schedule.Due(start.AddSeconds(1));
        var waiting = schedule.WaitAsync(start.AddSeconds(5), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));

        await waiting.WaitAsync(Guard);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task Reset_ForgetsWhatWasReported_SoTheSleepRunsToItsOwnTime()
    {
        var clock = new FakeTimeProvider();
        var schedule = new SweepSchedule(clock);
        var start = clock.GetUtcNow().UtcDateTime;

        schedule.Due(start.AddSeconds(1));
        schedule.Reset();
        var waiting = schedule.WaitAsync(start.AddSeconds(5), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(4.9));
        var completedEarly = waiting.IsCompleted;
        clock.Advance(TimeSpan.FromSeconds(0.1));

        Assert.That(completedEarly, Is.False);
        await waiting.WaitAsync(Guard);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }
}
