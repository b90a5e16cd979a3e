using System.Globalization;
using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;
using GovSg.Api.Messages;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// The per-user send limit, enforced across all Api replicas through one counter row per user in PostgreSQL: fixed
/// one-second windows, <c>RateLimit-Limit/Remaining/Reset</c> on every answer, 429 with <c>Retry-After</c> beyond the
/// limit. Runs after authentication and before the body is read (SPEC §3 order). A replay of an idempotent request
/// is never refused: it sends nothing new.
/// </summary>
public sealed class SendRateLimitFilter(RateLimitStore store, MessageStore messages, ApiMetrics metrics, TimeProvider time)
    : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var caller = http.Features.Get<Caller>()!;
        var now = time.GetUtcNow().UtcDateTime;
        var window = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        var count = await store.CountAsync(caller.UserId, window);

        var headers = http.Response.Headers;
        var reset = Math.Max(1, (int)Math.Ceiling((window.AddSeconds(1) - now).TotalSeconds));
        headers["RateLimit-Limit"] = caller.RateLimitPerSecond.ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Remaining"] = Math.Max(0, caller.RateLimitPerSecond - count).ToString(CultureInfo.InvariantCulture);
        headers["RateLimit-Reset"] = reset.ToString(CultureInfo.InvariantCulture);
        if (count <= caller.RateLimitPerSecond || await IsReplayAsync(http, caller))
        {
            return await next(context);
        }

        metrics.RateLimited();
        headers.RetryAfter = reset.ToString(CultureInfo.InvariantCulture);
        return ApiError.RateLimited();
    }

    private async Task<bool> IsReplayAsync(HttpContext http, Caller caller) =>
        http.Request.Headers.TryGetValue(Idempotency.HeaderName, out var key) && Idempotency.IsValidKey(key.ToString()) &&
        await messages.FindByIdempotencyKeyAsync(caller.UserId, key.ToString(), http.RequestAborted) is { } earlier &&
        earlier.CreatedAt > time.GetUtcNow().UtcDateTime - Idempotency.Window;
}
