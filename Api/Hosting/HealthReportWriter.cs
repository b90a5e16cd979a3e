using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GovSg.Hosting;

/// <summary>
/// Health answers as JSON with one entry per check (SPEC §9.1), for both services: the Dispatcher compiles this file
/// too. The reason is the check's own description, never the exception, which may carry connection details.
/// </summary>
internal static class HealthReportWriter
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("duration_ms", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteNumber("duration_ms", Math.Round(entry.Duration.TotalMilliseconds, 1));
            if (entry.Status != HealthStatus.Healthy)
            {
                json.WriteString("reason", Reason(name, entry));
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    /// <summary>
    /// MassTransit's own check describes the bus's endpoints ("Not ready: not started"), not what they wait for: the
    /// reason names the broker, as the database check names PostgreSQL.
    /// </summary>
    private static string Reason(string name, HealthReportEntry entry) => name == "masstransit-bus"
        ? $"RabbitMQ connection or endpoints not ready ({entry.Description ?? "no description"})"
        : entry.Description ?? "Check failed";
}
