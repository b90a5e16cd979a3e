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
        await AssertReturnsAfterAsync(clock, waiting, TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task WaitAsync_WhenAnEarlierTimeIsReportedDuringTheSleep_ReturnsThen()
    {
        var clock = new FakeTimeProvider();
        var schedule = new SweepSchedule(clock);
        var start = clock.GetUtcNow().UtcDateTime;

        var waiting = schedule.WaitAsync(start.AddSeconds(5), CancellationToken.None);
        schedule.Due(start.AddSeconds(1));
        await AssertReturnsAfterAsync(clock, waiting, TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task WaitAsync_WhenALaterTimeIsReported_SleepsUntilItsOwnTime()
    {
        var clock = new FakeTimeProvider();
        var schedule = new SweepSchedule(clock);
        var start = clock.GetUtcNow().UtcDateTime;

        var waiting = schedule.WaitAsync(start.AddSeconds(5), CancellationToken.None);
        schedule.Due(start.AddSeconds(10));
        await AssertReturnsAfterAsync(clock, waiting, TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task WaitAsync_WhenATimeWasReportedBeforeTheSleep_ReturnsThen()
    {
        var clock = new FakeTimeProvider();
        var schedule = new SweepSchedule(clock);
        var start = clock.GetUtcNow().UtcDateTime;

        schedule.Due(start.AddSeconds(1));
        var waiting = schedule.WaitAsync(start.AddSeconds(5), CancellationToken.None);
        await AssertReturnsAfterAsync(clock, waiting, TimeSpan.FromSeconds(1));
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
        await AssertReturnsAfterAsync(clock, waiting, TimeSpan.FromSeconds(5));
    }

    /// <summary>The wait is still running just before <paramref name="after"/> on the fake clock, and done at it.</summary>
    private static async Task AssertReturnsAfterAsync(FakeTimeProvider clock, Task waiting, TimeSpan after)
    {
        clock.Advance(after - TimeSpan.FromSeconds(0.1));
        var completedEarly = waiting.IsCompleted;
        clock.Advance(TimeSpan.FromSeconds(0.1));

        Assert.That(completedEarly, Is.False);
        await waiting.WaitAsync(Guard);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }
}
