using System.Diagnostics;
using GovSg.Api.Database;
using Npgsql;

namespace GovSg.Tests.Unit;

public sealed class BatcherTests
{
    // Classes 22 (data exception) and 23 (integrity constraint violation) refuse the statement for its data.
    [TestCase("22P05")]
    [TestCase("23505")]
    public async Task RunAsync_WhenTheServerRefusesABatch_FailsOnlyTheItemItRefuses(string sqlState)
    {
        var (results, batchSizes) = await RunHeldAsync(Enumerable.Range(10, 6), maxBatch: 100, items => items.Contains(13)
            ? throw new PostgresException("refused", "ERROR", "ERROR", sqlState)
            : [.. items.Select(i => i * 10)]);

        Assert.That(batchSizes.Max(), Is.GreaterThan(1), "the items must have been batched for this test to mean anything");
        Assert.That(results[3].Exception?.InnerException, Is.TypeOf<PostgresException>());
        Assert.That(results.Where((_, i) => i != 3).Select(r => r.Result), Is.EqualTo(new[] { 100, 110, 120, 140, 150 }));
    }

    [Test]
    public async Task RunAsync_RunsBatchesOutsideTheTraceOfWhoeverCreatedTheBatcher()
    {
        // The first request or message that needs a batcher creates it; its workers must not carry that one's trace into
        // every later batch (each statement's span would hang under it).
        Batcher<int, string?> batcher;
        using (new Activity("the first request").Start())
        {
            batcher = new Batcher<int, string?>(items => Task.FromResult<IReadOnlyList<string?>>(
                [.. items.Select(_ => Activity.Current?.OperationName)]), maxBatch: 10, concurrency: 2);
        }

        await using (batcher)
        {
            Assert.That(await batcher.RunAsync(1), Is.Null);
        }
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
        var (results, batchSizes) = await RunHeldAsync(Enumerable.Range(1, 8), maxBatch: 3, items => [.. items.Select(i => i * 10)]);

        Assert.That(results.Select(r => r.Result), Is.EqualTo(new[] { 10, 20, 30, 40, 50, 60, 70, 80 }));
        Assert.That(batchSizes.Max(), Is.EqualTo(3), "batched, and never beyond the most");
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

    /// <summary>
    /// Runs <paramref name="items"/> through a batcher whose first batch waits until all are queued, so they gather into
    /// batches; <paramref name="answer"/> answers (or refuses) each batch, whose size is recorded.
    /// </summary>
    private static async Task<(List<Task<int>> Results, List<int> BatchSizes)> RunHeldAsync(IEnumerable<int> items, int maxBatch,
        Func<IReadOnlyList<int>, IReadOnlyList<int>> answer)
    {
        var release = new TaskCompletionSource();
        var batchSizes = new List<int>();
        await using var batcher = new Batcher<int, int>(async batch =>
        {
            await release.Task;
            lock (batchSizes)
            {
                batchSizes.Add(batch.Count);
            }

            return answer(batch);
        }, maxBatch, concurrency: 1);

        var results = items.Select(batcher.RunAsync).ToList();
        release.SetResult();
        await Task.WhenAll(results).ContinueWith(_ => { }, TaskScheduler.Default);
        return (results, batchSizes);
    }
}
