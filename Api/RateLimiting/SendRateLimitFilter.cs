using GovSg.Api.Auth;
using GovSg.Api.Messages;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// The send limit of a single send: one token (SPEC §7), taken before the body is read, so an empty bucket answers 429
/// whatever the body (SPEC §3 order). Concurrent takes share one statement (<see cref="RateLimitStore"/>). A replay of
/// an idempotent request sends nothing new, so it takes a read token instead; what its key names is passed on to the
/// send (<see cref="IdempotencyLookup"/>), which then need not look it up again. A send with a key is looked up
/// only once no other send with that key is under way here (<see cref="IdempotencyGate"/>), and holds the key until
/// its message is stored or replayed (the send lets it go before any <c>Prefer: wait</c>). One that another Api is
/// storing under the key cannot be seen until it commits; a keyed send refused a token waits for it, and replays it.
/// </summary>
public sealed class SendRateLimitFilter(RateLimiter limiter, MessageStore messages, IdempotencyGate gate, TimeProvider time)
    : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var caller = http.Features.Get<Caller>()!;
        // Two keys (refused by the send) or an invalid one name no earlier message, and hold nothing.
        using var held = await gate.EnterIfKeyedAsync(http);
        var key = held?.Key;
        if (key is not null && IsReplay(http, key,
                await messages.FindKeyHoldersAsync(caller.UserId, caller.KeyType, key, http.RequestAborted)))
        {
            return await limiter.TakeReadAsync(http, caller) ?? await next(context);
        }

        if (await limiter.TakeSendAsync(http, caller, 1) is not { } refused)
        {
            return await next(context);
        }

        // A send with the same key on another Api may be storing its message now, which the lookup above cannot see: this
        // one waits for it and replays it, as concurrent duplicates on one Api do, rather than being refused (SPEC §3.2).
        return key is not null && IsReplay(http, key,
            await messages.FindKeyHoldersOnceStoredAsync(caller.UserId, caller.KeyType, key, http.RequestAborted))
            ? await limiter.TakeReadAsync(http, caller) ?? await next(context)
            : refused;
    }

    private bool IsReplay(HttpContext http, string key, KeyHolders holders)
    {
        http.Features.Set(new IdempotencyLookup(key, holders));
        return holders.Message is { } earlier && earlier.CreatedAt > time.GetUtcNow().UtcDateTime - Idempotency.Window;
    }
}
