using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GovSg.Dispatcher.Extensions;

public static class ServiceDefaults
{
    private static readonly string[] TraceSources = [DispatcherMetrics.Name, "MassTransit", "Npgsql", "System.Net.Http"];

    private static readonly string[] Meters = [DispatcherMetrics.Name, "MassTransit", "Npgsql", "System.Net.Http"];

    /// <summary>Time, metrics, health checks and — when an OTLP endpoint is configured — traces and metrics export.</summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DispatcherMetrics>();
        builder.Services.AddHealthChecks();
        // In-flight provider calls finish on shutdown (SPEC §8); the longest is one provider timeout plus the write.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(30));

        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            var resource = ResourceBuilder.CreateDefault().AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "govsg-dispatcher");
            builder.Services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(resource).AddSource(TraceSources).AddOtlpExporter().Build());
            builder.Services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder()
                .SetResourceBuilder(resource).AddMeter(Meters).AddOtlpExporter().Build());
            builder.Services.AddHostedService<TelemetryStarter>();
        }

        return builder;
    }

    public static WebApplication MapServiceDefaults(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }

    /// <summary>Resolving the providers at start is what turns them on; stopping flushes what is buffered.</summary>
    private sealed class TelemetryStarter(TracerProvider tracer, MeterProvider meter) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            tracer.ForceFlush();
            meter.ForceFlush();
            return Task.CompletedTask;
        }
    }
}
