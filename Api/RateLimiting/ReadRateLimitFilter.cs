using GovSg.Api.Auth;

namespace GovSg.Api.RateLimiting;

/// <summary>
/// The read limit (SPEC §7): one read token per request, taken after authentication. Key and callback-settings writes
/// take one too: an honest caller makes a handful, and each one adds a row. Reads then also take one of their caller's
/// read slots (<see cref="ReadSlotsFilter"/>); the writes, each a statement or two on the caller's own rows, do not.
/// </summary>
public sealed class ReadRateLimitFilter(RateLimiter limiter) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        await limiter.TakeReadAsync(context.HttpContext, context.HttpContext.Features.Get<Caller>()!) ?? await next(context);
}
