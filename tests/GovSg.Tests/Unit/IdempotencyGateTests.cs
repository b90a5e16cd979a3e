using GovSg.Api.Auth;
using GovSg.Api.Messages;
using Microsoft.AspNetCore.Http;

namespace GovSg.Tests.Unit;

public sealed class IdempotencyGateTests
{
    [Test]
    public async Task Enter_BeyondTheSendsThatMayWaitForAKey_IsRefusedAtOnceWhileTheWaitersGoInTurn()
    {
        var gate = new IdempotencyGate();
        var (first, _) = await gate.EnterIfKeyedAsync(Request("k"));
        var waiting = Enumerable.Range(0, IdempotencyGate.MaxWaitingPerKey).Select(_ => gate.EnterIfKeyedAsync(Request("k"))).ToList();

        var (beyond, busy) = await gate.EnterIfKeyedAsync(Request("k"));
        var (otherKey, otherBusy) = await gate.EnterIfKeyedAsync(Request("another-key"));

        Assert.That(first, Is.Not.Null);
        Assert.That(waiting.Count(w => w.IsCompleted), Is.Zero);
        Assert.That(beyond, Is.Null);
        Assert.That(busy?.StatusCode, Is.EqualTo(StatusCodes.Status503ServiceUnavailable));
        Assert.That(otherKey, Is.Not.Null, "another key does not wait");
        Assert.That(otherBusy, Is.Null);

        first!.Dispose();
        await GoInTurnAsync(waiting);

        // Every waiter is counted out: the key takes its full number of waiters again.
        var (again, _) = await gate.EnterIfKeyedAsync(Request("k"));
        var queued = Enumerable.Range(0, IdempotencyGate.MaxWaitingPerKey).Select(_ => gate.EnterIfKeyedAsync(Request("k"))).ToList();
        Assert.That(queued.Count(w => w.IsCompleted), Is.Zero);
        again!.Dispose();
        await GoInTurnAsync(queued);
    }

    /// <summary>Lets each waiter in as it gets the key, checking that no other has it meanwhile.</summary>
    private static async Task GoInTurnAsync(List<Task<(IdempotencyGate.Hold? Held, GovSg.Api.Http.ApiError? Busy)>> waiting)
    {
        while (waiting.Count > 0)
        {
            var next = await Task.WhenAny(waiting).WaitAsync(TimeSpan.FromSeconds(5));
            Assert.That(waiting.Count(w => w.IsCompleted), Is.EqualTo(1), "one waiter at a time has the key");
            waiting.Remove(next);
            var (held, busy) = await next;
            Assert.That(busy, Is.Null);
            held!.Dispose();
        }
    }

    private static DefaultHttpContext Request(string key)
    {
        var http = new DefaultHttpContext();
        http.Request.Headers["Idempotency-Key"] = key;
        http.Features.Set(new Caller(1, 1, 10, 10, 0, TimeSpan.FromDays(1), "live"));
        return http;
    }
}
