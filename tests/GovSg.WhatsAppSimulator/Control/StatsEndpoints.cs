using GovSg.WhatsAppSimulator.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GovSg.WhatsAppSimulator.Control;

internal static class StatsEndpoints
{
    public static RouteGroupBuilder MapStatsApi(this RouteGroupBuilder group)
    {
        group.MapGet("/stats", GetStats).WithName("GetStats");
        group.MapDelete("/stats", ResetStats).WithName("ResetStats");
        return group;
    }

    public static Ok<StatsResponse> GetStats(SimulatorStats stats, WebhookQueue queue) =>
        TypedResults.Ok(stats.Snapshot(queue.Count));

    public static NoContent ResetStats(SimulatorStats stats)
    {
        stats.Reset();
        return TypedResults.NoContent();
    }
}
