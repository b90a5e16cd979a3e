using GovSg.Dispatcher.Scheduling;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

public sealed class WakeScheduleTests
{
    // Completions run on the thread pool; the real-time guard only keeps a broken schedule from hanging the run.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    private FakeTimeProvider _clock = null!;
    private WakeSchedule _schedule = null!;
    private DateTime _start;

    [SetUp]
    public void NewSchedule()
    {
        _clock = new FakeTimeProvider();
        _schedule = new WakeSchedule(_clock);
        _start = _clock.GetUtcNow().UtcDateTime;
    }

    [Test]
    public async Task WaitAsync_WhenNothingIsReported_ReturnsAtItsTimeAndNotBefore()
    {
        var waiting = _schedule.WaitAsync(_start.AddSeconds(5), CancellationToken.None);
        await AssertReturnsAfterAsync(waiting, TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task WaitAsync_WhenWokenDuringTheSleep_ReturnsAtOnce()
    {
        var waiting = _schedule.WaitAsync(_start.AddSeconds(5), CancellationToken.None);
        _schedule.Wake();

        await waiting.WaitAsync(Guard);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public async Task WaitAsync_WhenAnEarlierTimeIsReportedDuringTheSleep_ReturnsThen()
    {
        var waiting = _schedule.WaitAsync(_start.AddSeconds(5), CancellationToken.None);
        _schedule.Due(_start.AddSeconds(1));
        await AssertReturnsAfterAsync(waiting, TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task WaitAsync_WhenALaterTimeIsReportedAfterAnEarlierOne_ReturnsAtTheEarlier()
    {
        var waiting = _schedule.WaitAsync(_start.AddSeconds(10), CancellationToken.None);
        _schedule.Due(_start.AddSeconds(1));
        _schedule.Due(_start.AddSeconds(5));
        await AssertReturnsAfterAsync(waiting, TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task WaitAsync_WhenALaterTimeIsReported_SleepsUntilItsOwnTime()
    {
        var waiting = _schedule.WaitAsync(_start.AddSeconds(5), CancellationToken.None);
        _schedule.Due(_start.AddSeconds(10));
        await AssertReturnsAfterAsync(waiting, TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task WaitAsync_WhenATimeWasReportedBeforeTheSleep_ReturnsThen()
    {
        _schedule.Due(_start.AddSeconds(1));
        var waiting = _schedule.WaitAsync(_start.AddSeconds(5), CancellationToken.None);
        await AssertReturnsAfterAsync(waiting, TimeSpan.FromSeconds(1));
    }

    [Test]
    public async Task Reset_ForgetsWhatWasReported_SoTheSleepRunsToItsOwnTime()
    {
        _schedule.Wake();
        _schedule.Reset();
        var waiting = _schedule.WaitAsync(_start.AddSeconds(5), CancellationToken.None);
        await AssertReturnsAfterAsync(waiting, TimeSpan.FromSeconds(5));
    }

    [Test]
    public async Task WaitAsync_WhenCancelled_Throws()
    {
        using var stopping = new CancellationTokenSource();
        var waiting = _schedule.WaitAsync(_start.AddSeconds(5), stopping.Token);
        await stopping.CancelAsync();

        Assert.That(async () => await waiting.WaitAsync(Guard), Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>
    /// The wait is still running just before <paramref name="after"/> on the fake clock, given real time to return had it
    /// been due (its continuations run on the thread pool), and done at it.
    /// </summary>
    private async Task AssertReturnsAfterAsync(Task waiting, TimeSpan after)
    {
        _clock.Advance(after - TimeSpan.FromSeconds(0.1));
        await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromMilliseconds(200)));
        var completedEarly = waiting.IsCompleted;
        _clock.Advance(TimeSpan.FromSeconds(0.1));

        Assert.That(completedEarly, Is.False);
        await waiting.WaitAsync(Guard);
        Assert.That(waiting.IsCompletedSuccessfully, Is.True);
    }
}
