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
                json.WriteString("reason", entry.Description ?? "Check failed");
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
