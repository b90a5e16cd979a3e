using GovSg.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GovSg.Dispatcher.Extensions;

public static class ServiceDefaults
{
    /// <summary>Time, metrics, health checks, and traces, metrics and logs (exported over OTLP when configured).</summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DispatcherMetrics>();
        builder.Services.AddHealthChecks();
        // In-flight provider calls finish on shutdown (SPEC §8); the longest is one provider timeout plus the write.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(30));

        builder.Logging.AddOpenTelemetry(logging => logging.IncludeFormattedMessage = true);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "govsg-dispatcher"))
            .WithTracing(tracing => tracing
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource(DispatcherMetrics.Name, "MassTransit"))
            .WithMetrics(metrics => metrics
                .AddHttpClientInstrumentation()
                .AddMeter(DispatcherMetrics.Name, "MassTransit", "Npgsql", "System.Runtime"));
        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            telemetry.UseOtlpExporter();
        }

        return builder;
    }

    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthReportWriter.WriteAsync });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        return app;
    }
}
