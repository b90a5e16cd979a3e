using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Tests.Unit;

public sealed class BatcherTests
{
    [Test]
    public async Task RunAsync_WhenTheServerRefusesABatch_FailsOnlyTheItemItRefuses()
    {
        var release = new TaskCompletionSource();
        var batchSizes = new List<int>();
        await using var batcher = new Batcher<int, int>(async items =>
        {
            await release.Task;
            lock (batchSizes)
            {
                batchSizes.Add(items.Count);
            }

            return items.Contains(13)
                ? throw new PostgresException("invalid input", "ERROR", "ERROR", "22P05")
                : items.Select(i => i * 10).ToList();
        }, maxBatch: 100, concurrency: 1);

        var results = Enumerable.Range(10, 6).Select(batcher.RunAsync).ToList();
        release.SetResult();
        await Task.WhenAll(results).ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.That(batchSizes.Max(), Is.GreaterThan(1), "the items must have been batched for this test to mean anything");
        Assert.That(results[3].Exception?.InnerException, Is.TypeOf<PostgresException>());
        Assert.That(results.Where((_, i) => i != 3).Select(r => r.Result), Is.EqualTo(new[] { 100, 110, 120, 140, 150 }));
    }

    private static readonly Exception[] OtherFailures =
    [
        new TimeoutException("the connection dropped: the batch may have been written"),
        new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", "57P01"),
    ];

    [TestCaseSource(nameof(OtherFailures))]
    public async Task RunAsync_WhenABatchFailsOtherwise_FailsEveryCallerWithoutRunningItemsAgain(Exception failure)
    {
        var release = new TaskCompletionSource();
        var calls = 0;
        await using var batcher = new Batcher<int, int>(async items =>
        {
            await release.Task;
            Interlocked.Increment(ref calls);
            throw failure;
        }, maxBatch: 100, concurrency: 1);

        var results = Enumerable.Range(0, 4).Select(batcher.RunAsync).ToList();
        release.SetResult();
        await Task.WhenAll(results).ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.That(results.Select(r => r.Exception?.InnerException), Is.All.SameAs(failure));
        Assert.That(calls, Is.LessThan(4), "a batch whose outcome is unknown must not be run again item by item");
    }

    [Test]
    public async Task RunAsync_GivesEachCallerOfABatchItsOwnResult_InBatchesNoLargerThanTheMost()
    {
        var release = new TaskCompletionSource();
        var batchSizes = new List<int>();
        await using var batcher = new Batcher<int, int>(async items =>
        {
            await release.Task;
            lock (batchSizes)
            {
                batchSizes.Add(items.Count);
            }

            return items.Select(i => i * 10).ToList();
        }, maxBatch: 3, concurrency: 1);

        var results = Enumerable.Range(1, 8).Select(batcher.RunAsync).ToList();
        release.SetResult();
        var answers = await Task.WhenAll(results).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(answers, Is.EqualTo(new[] { 10, 20, 30, 40, 50, 60, 70, 80 }));
        Assert.That(batchSizes.Max(), Is.EqualTo(3), "batched, and never beyond the most");
    }

    [Test]
    public async Task RunAsync_WhenTheServerRefusesABatchForAConstraint_FailsOnlyTheItemItRefuses()
    {
        // SQLSTATE class 23 (integrity constraint violation) refuses the statement for its data, as class 22 does.
        var release = new TaskCompletionSource();
        await using var batcher = new Batcher<int, int>(async items =>
        {
            await release.Task;
            return items.Contains(2)
                ? throw new PostgresException("duplicate key", "ERROR", "ERROR", "23505")
                : items.Select(i => i * 10).ToList();
        }, maxBatch: 100, concurrency: 1);

        var results = Enumerable.Range(1, 3).Select(batcher.RunAsync).ToList();
        release.SetResult();
        await Task.WhenAll(results).ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.That(results[1].Exception?.InnerException, Is.TypeOf<PostgresException>());
        Assert.That(new[] { results[0].Result, results[2].Result }, Is.EqualTo(new[] { 10, 30 }));
    }

    [Test]
    public async Task RunAsync_WhenTheServerRefusesALoneItem_DoesNotRunItAgain()
    {
        var calls = 0;
        await using var batcher = new Batcher<int, int>(_ =>
        {
            Interlocked.Increment(ref calls);
            throw new PostgresException("duplicate key", "ERROR", "ERROR", "23505");
        }, maxBatch: 100, concurrency: 1);

        var result = batcher.RunAsync(1);
        await result.ContinueWith(_ => { }, TaskScheduler.Default);

        Assert.That(result.Exception?.InnerException, Is.TypeOf<PostgresException>());
        Assert.That(calls, Is.EqualTo(1));
    }

    [Test]
    public async Task RunAsync_AfterDispose_FailsAtOnce()
    {
        var batcher = new Batcher<int, int>(items => Task.FromResult<IReadOnlyList<int>>(items), maxBatch: 10, concurrency: 1);
        await batcher.DisposeAsync();

        var result = batcher.RunAsync(1);

        Assert.That(result.IsFaulted, Is.True);
        Assert.That(result.Exception?.InnerException, Is.TypeOf<ObjectDisposedException>());
    }
}
