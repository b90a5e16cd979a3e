using GovSg.Api.Auth;
using GovSg.Api.Messages;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// The send limit of a single send: one token (SPEC §7), taken before the body is read, so an empty bucket answers 429
/// whatever the body (SPEC §3 order). Concurrent takes share one statement (<see cref="RateLimitStore"/>). A replay of
/// an idempotent request sends nothing new, so it takes a read token instead.
/// </summary>
public sealed class SendRateLimitFilter(RateLimiter limiter, MessageStore messages, TimeProvider time) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var caller = http.Features.Get<Caller>()!;
        if (await IsReplayAsync(http, caller))
        {
            return await limiter.TakeReadAsync(http, caller) ?? await next(context);
        }

        return await limiter.TakeSendAsync(http, caller, 1) ?? await next(context);
    }

    private async Task<bool> IsReplayAsync(HttpContext http, Caller caller) =>
        http.Request.Headers.TryGetValue(Idempotency.HeaderName, out var key) && Idempotency.IsValidKey(key.ToString()) &&
        await messages.FindByIdempotencyKeyAsync(caller.UserId, caller.KeyType, key.ToString(), http.RequestAborted) is { } earlier &&
        earlier.CreatedAt > time.GetUtcNow().UtcDateTime - Idempotency.Window;
}
