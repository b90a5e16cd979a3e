using GovSg.Api.Extensions;
using Microsoft.Extensions.Time.Testing;

namespace GovSg.Tests.Unit;

public sealed class ShortLivedCacheTests
{
    private sealed record Row(string Name);

    [Test]
    public async Task GetOrLoad_ConcurrentMisses_ShareOneLoad()
    {
        var cache = new ShortLivedCache<string, Row>(TimeSpan.FromSeconds(5), new FakeTimeProvider());
        var loads = 0;
        var found = new TaskCompletionSource<Row?>();
        Task<Row?> Load()
        {
            Interlocked.Increment(ref loads);
            return found.Task;
        }

        var waiting = Enumerable.Range(0, 20).Select(_ => cache.GetOrLoadAsync("key", Load, CancellationToken.None).AsTask()).ToList();
        found.SetResult(new Row("one"));
        var rows = await Task.WhenAll(waiting);

        Assert.That(loads, Is.EqualTo(1));
        Assert.That(rows.Select(row => row?.Name), Is.All.EqualTo("one"));
    }

    [Test]
    public async Task GetOrLoad_KeepsAFoundValueForTheDuration_ThenLoadsAgain()
    {
        var time = new FakeTimeProvider();
        var cache = new ShortLivedCache<string, Row>(TimeSpan.FromSeconds(5), time);
        var loads = 0;
        Task<Row?> Load() => Task.FromResult<Row?>(new Row($"load {Interlocked.Increment(ref loads)}"));

        var first = await cache.GetOrLoadAsync("key", Load, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(4.9));
        var kept = await cache.GetOrLoadAsync("key", Load, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(0.1));
        var reloaded = await cache.GetOrLoadAsync("key", Load, CancellationToken.None);

        Assert.That(new[] { first?.Name, kept?.Name, reloaded?.Name }, Is.EqualTo(new[] { "load 1", "load 1", "load 2" }));
    }

    [Test]
    public async Task GetOrLoad_NeverKeepsAMiss_OrAFailure()
    {
        var cache = new ShortLivedCache<string, Row>(TimeSpan.FromSeconds(5), new FakeTimeProvider());
        var answers = new Queue<Func<Task<Row?>>>([
            () => Task.FromResult<Row?>(null),
            () => Task.FromException<Row?>(new TimeoutException("database away")),
            () => Task.FromResult<Row?>(new Row("created since")),
        ]);
        Task<Row?> Load() => answers.Dequeue()();

        var missing = await cache.GetOrLoadAsync("key", Load, CancellationToken.None);
        Assert.That(async () => await cache.GetOrLoadAsync("key", Load, CancellationToken.None), Throws.TypeOf<TimeoutException>());
        var found = await cache.GetOrLoadAsync("key", Load, CancellationToken.None);

        Assert.That(missing, Is.Null);
        Assert.That(found?.Name, Is.EqualTo("created since"));
    }

    [Test]
    public void GetOrLoad_ACallerGivingUp_LeavesTheSharedLoadToTheOthers()
    {
        var cache = new ShortLivedCache<string, Row>(TimeSpan.FromSeconds(5), new FakeTimeProvider());
        var found = new TaskCompletionSource<Row?>();
        using var givesUp = new CancellationTokenSource();

        var leaving = cache.GetOrLoadAsync("key", () => found.Task, givesUp.Token).AsTask();
        var staying = cache.GetOrLoadAsync("key", () => throw new InvalidOperationException("a second load"), CancellationToken.None).AsTask();
        givesUp.Cancel();
        found.SetResult(new Row("one"));

        Assert.That(async () => await leaving, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(staying.Result?.Name, Is.EqualTo("one"));
    }

    [Test]
    public async Task Forget_DuringALookup_KeepsNothingItRead()
    {
        var cache = new ShortLivedCache<string, Row>(TimeSpan.FromSeconds(5), new FakeTimeProvider());
        var before = new TaskCompletionSource<Row?>();

        var inFlight = cache.GetOrLoadAsync("key", () => before.Task, CancellationToken.None).AsTask();
        cache.Forget("key");
        before.SetResult(new Row("read before the change"));
        var answered = await inFlight;
        var next = await cache.GetOrLoadAsync("key", () => Task.FromResult<Row?>(new Row("after")), CancellationToken.None);

        Assert.That(answered?.Name, Is.EqualTo("read before the change"), "its caller asked before the change");
        Assert.That(next?.Name, Is.EqualTo("after"));
    }
}
