using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;

namespace GovSg.Api.Messages;

/// <summary>
/// A batch send's turn: its turn with its <c>Idempotency-Key</c> first (<see cref="IdempotencyGate"/>), then a slot
/// (<see cref="BatchSlots"/>); beyond the slots' queues, 503 before the body is read. A duplicate of a batch under way
/// here so waits for it holding no slot, then takes one to replay it: concurrent duplicates make one batch however many
/// come at once (SPEC §3.8), and are not refused for the queue the first one's duplicates filled.
/// </summary>
public sealed class BatchSlotsFilter(IdempotencyGate gate, BatchSlots slots, ApiMetrics metrics) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        using var held = await gate.EnterIfKeyedAsync(http);
        using var slot = await slots.AcquireAsync(http.Features.Get<Caller>()!.UserId, http.RequestAborted);
        if (slot.IsAcquired)
        {
            return await next(context);
        }

        metrics.SlotRefused("batch");
        return ApiError.ServiceUnavailable();
    }
}
