using System.Text.Json;
using GovSg.Api.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GovSg.Api.Extensions;

public static class ServiceDefaults
{
    private static readonly string[] TraceSources = ["GovSg.Api", "Microsoft.AspNetCore", "MassTransit", "Npgsql", "System.Net.Http"];

    private static readonly string[] Meters =
    [
        ApiMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "MassTransit",
        "Npgsql", "System.Net.Http",
    ];

    /// <summary>Time, health checks, JSON, OpenAPI and — when an OTLP endpoint is configured — traces and metrics.</summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ApiMetrics>();
        builder.Services.AddHealthChecks();
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new UtcMillisecondsConverter());
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        // The webhook accepts up to 1 MiB; agency routes enforce their own 64 KiB limit (SPEC §3).
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 1024 * 1024);

        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            var resource = ResourceBuilder.CreateDefault().AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? "govsg-api");
            builder.Services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(resource).AddSource(TraceSources).AddOtlpExporter().Build());
            builder.Services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder()
                .SetResourceBuilder(resource).AddMeter(Meters).AddOtlpExporter().Build());
            builder.Services.AddHostedService<TelemetryStarter>();
        }

        return builder;
    }

    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseMiddleware<RequestTelemetryMiddleware>();
        app.UseMiddleware<ErrorEnvelopeMiddleware>();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        app.MapOpenApi();
        return app;
    }

    /// <summary>Builds the providers at start so telemetry flows before the first request resolves them.</summary>
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
