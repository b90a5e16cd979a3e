using System.Text.Json;
using GovSg.Api.Auth;
using GovSg.Api.Http;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace GovSg.Api.Extensions;

public static class ServiceDefaults
{
    /// <summary>Time, health checks, JSON, OpenAPI, and traces, metrics and logs (exported over OTLP when configured).</summary>
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ApiMetrics>();
        builder.Services.AddHealthChecks();
        builder.AddOpenApiDocument();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new UtcMillisecondsConverter());
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        });
        // The webhook accepts up to 1 MiB; agency routes enforce their own limits (64 KiB, a batch 4 MiB: SPEC §3). Kestrel refuses an
        // overlong request line (8 KiB by default) or header block (32 KiB) itself, with an empty 414 or 431 that no
        // middleware can put in the error envelope. Up to 64 KiB each they reach the Api, whose own checks refuse a long
        // query or Idempotency-Key in the envelope (SPEC §3.1). Not more: Kestrel keeps a request's headers, as text, for
        // as long as the request lasts, and anyone may open one without a key (1 MiB each let a thousand connections take
        // 2 GB), so what no honest client sends stays Kestrel's to refuse.
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            const int kibibyte = 1024;
            kestrel.Limits.MaxRequestBodySize = 1024 * kibibyte;
            kestrel.Limits.MaxRequestLineSize = 64 * kibibyte;
            kestrel.Limits.MaxRequestHeadersTotalSize = 64 * kibibyte;
        });
        builder.AddSecurityHeaders();
        builder.AddApiTelemetry();
        // SPEC §9.1: logs never hold a full phone number, and a path holds whatever a caller puts there (a recipient
        // where a message id belongs). ASP.NET Core makes its request scope (RequestPath, RequestId) only while its
        // hosting logger is on, at any level, so that logger is off: lines written in a request carry its trace id
        // instead. A failed authentication is the caller's 401, not the operator's news, and anyone without a key could
        // fill the logs with it: only its handler's warnings are logged.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter(typeof(ApiKeyAuthenticationHandler).FullName, LogLevel.Warning);
        return builder;
    }

    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseSecurityHeaders();
        app.UseMiddleware<ErrorEnvelopeMiddleware>();
        app.MapHealthEndpoints();
        app.MapOpenApiDocument();
        return app;
    }

    private static void AddApiTelemetry(this WebApplicationBuilder builder) =>
        builder.AddTelemetry("govsg-api", ApiMetrics.MeterName)
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(http =>
                {
                    // Probes every few seconds would drown the traces that matter.
                    http.Filter = context => !context.Request.Path.StartsWithSegments("/health");
                    // The path may hold a phone number (see the log filters above): spans keep the route, not the path.
                    http.EnrichWithHttpRequest = (activity, _) => activity.SetTag("url.path", null);
                    // The caller is known only after authentication, so it is added when the response goes out.
                    http.EnrichWithHttpResponse = (activity, response) =>
                    {
                        if (response.HttpContext.Features.Get<Caller>() is { } caller)
                        {
                            activity.SetTag("govsg.user_id", caller.UserId);
                        }
                    };
                }))
            .WithMetrics(metrics => metrics.AddAspNetCoreInstrumentation());
}
