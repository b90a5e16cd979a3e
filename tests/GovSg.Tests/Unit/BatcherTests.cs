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
}
