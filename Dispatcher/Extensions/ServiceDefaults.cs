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
        builder.AddTelemetry("govsg-dispatcher", DispatcherMetrics.Name);
        builder.AddSecurityHeaders();
        return builder;
    }

    public static WebApplication MapServiceDefaults(this WebApplication app) => app.UseSecurityHeaders().MapHealthEndpoints();
}
