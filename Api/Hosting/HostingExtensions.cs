using System.Data.Common;
using System.Net.Security;
using System.Reflection;
using System.Security.Authentication;
using Dapper;
using MassTransit;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GovSg.Hosting;

/// <summary>
/// The hosting setup both services share: telemetry, the PostgreSQL data source and its health check, the RabbitMQ
/// bus, and the health endpoints. Each service's own <c>Extensions/</c> add what only it needs on top.
/// </summary>
internal static class HostingExtensions
{
    private static readonly string[] OtlpEndpoints =
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    ];

    /// <summary>
    /// Traces, metrics and logs of HttpClient, Npgsql, MassTransit, the runtime, and the service's own source and meter
    /// named <paramref name="name"/>, exported over OTLP once OpenTelemetry's variables name an endpoint: the common
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or a signal's own (<c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c> and so on).
    /// </summary>
    public static OpenTelemetryBuilder AddTelemetry(this IHostApplicationBuilder builder, string serviceName, string name)
    {
        builder.Logging.AddOpenTelemetry(logging => logging.IncludeFormattedMessage = true);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(builder.Configuration["OTEL_SERVICE_NAME"] ?? serviceName))
            .WithTracing(tracing => tracing
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource(name, "MassTransit"))
            .WithMetrics(metrics => metrics
                .AddHttpClientInstrumentation()
                .AddMeter(name, "MassTransit", "Npgsql", "System.Runtime"));
        if (OtlpEndpoints.Any(key => !string.IsNullOrEmpty(builder.Configuration[key])))
        {
            telemetry.UseOtlpExporter();
        }

        return telemetry;
    }

    /// <summary>
    /// The one <see cref="NpgsqlDataSource"/>, with <paramref name="configure"/> applied before it is built, and its
    /// readiness check: a server that refuses (a wrong password, a missing database) makes the service unready, one that
    /// cannot be reached <paramref name="whenUnreachable"/>.
    /// </summary>
    public static IHostApplicationBuilder AddPostgres(this IHostApplicationBuilder builder,
        Action<IServiceProvider, NpgsqlDataSourceBuilder>? configure = null, HealthStatus whenUnreachable = HealthStatus.Unhealthy)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        builder.Services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp =>
        {
            var connectionString = sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.Postgres;
            var dataSource = new NpgsqlDataSourceBuilder(connectionString)
                .UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>());
            // Nothing here changes session state, so the DISCARD ALL a pooled connection would send on every return is
            // pure overhead: it was the most frequent statement on the send path.
            dataSource.ConnectionStringBuilder.NoResetOnClose = true;
            // The same few dozen statements run all day: prepared on each physical connection after their fifth use,
            // PostgreSQL stops parsing and planning them on every call. A connection string that names its own figure
            // keeps it (Max Auto Prepare=0 behind a pooler that cannot keep prepared statements).
            if (!Names(connectionString, "Max Auto Prepare"))
            {
                dataSource.ConnectionStringBuilder.MaxAutoPrepare = 64;
            }
            configure?.Invoke(sp, dataSource);
            return dataSource.Build();
        });
        builder.Services.AddHealthChecks().AddTypeActivatedCheck<PostgresHealthCheck>("postgres", null, ["ready"], whenUnreachable);
        return builder;
    }

    /// <summary>Whether <paramref name="connectionString"/> sets <paramref name="keyword"/>, written with or without spaces.</summary>
    internal static bool Names(string connectionString, string keyword) =>
        new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys.Cast<string>().Any(key =>
            string.Equals(key.Replace(" ", "", StringComparison.Ordinal), keyword.Replace(" ", "", StringComparison.Ordinal),
                StringComparison.OrdinalIgnoreCase));

    /// <summary>The TLS versions offered to the broker when <see cref="RabbitMqOptions.UseTls"/> is on.</summary>
    public const SslProtocols BrokerTlsProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>MassTransit on RabbitMQ, with the service's own registrations (<paramref name="configure"/>).</summary>
    public static IHostApplicationBuilder AddRabbitMq(this IHostApplicationBuilder builder,
        Action<IBusRegistrationConfigurator> configure, Action<IRabbitMqBusFactoryConfigurator>? transport = null)
    {
        builder.Services.AddOptions<RabbitMqOptions>().BindConfiguration(RabbitMqOptions.SectionName)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddMassTransit(bus =>
        {
            // MassTransit 8 otherwise posts a usage report (versions, time zone, endpoint names) to its vendor's host a
            // few minutes after start: nothing leaves the system unasked (SECURITY.md). Note that the environment
            // variable MASSTRANSIT_USAGE_TELEMETRY=true would turn it back on; deployments never set it.
            bus.DisableUsageTelemetry();
            bus.AddBusObserver<BrokerLoginRefusedObserver>();
            // Nothing consumes Fault<T>, and the services' broker users may not declare MassTransit's Fault exchanges
            // (least privilege): a consumer that failed for good had its channel closed by the broker's refusal, so its
            // message went back to the queue instead of the _error queue, and came back every few seconds for ever,
            // stopping that queue's consumption each time.
            bus.AddConfigureEndpointsCallback((_, _, endpoint) => endpoint.PublishFaults = false);
            configure(bus);
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var options = context.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
                rabbit.Host(options.Host, (ushort)options.Port, options.VirtualHost, host =>
                {
                    host.Username(options.Username);
                    host.Password(options.Password);
                    if (options.UseTls)
                    {
                        host.UseSsl(tls =>
                        {
                            tls.ServerName = options.Host;
                            tls.Protocol = BrokerTlsProtocols;
                            // MassTransit forgives an untrusted chain unless told not to; nothing is forgiven here.
                            tls.EnforcePolicyErrors(SslPolicyErrors.RemoteCertificateChainErrors |
                                SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable);
                            tls.CertificateValidationCallback = options.CertificateValidation();
                        });
                    }
                });
                // Bodies are just the contract's JSON, with MassTransit's metadata in AMQP headers: a SendMessage is
                // ~30 bytes instead of a ~1 KB envelope, which is most of what the broker writes per message.
                rabbit.UseRawJsonSerializer(isDefault: true);
                if (!ReconnectQuickly(rabbit))
                {
                    context.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(HostingExtensions)).LogWarning(
                        "Could not shorten MassTransit's reconnect intervals; after a broker outage this service may " +
                        "take up to 30 s to reconnect");
                }

                transport?.Invoke(rabbit);
                rabbit.ConfigureEndpoints(context);
            });
        });
        return builder;
    }

    /// <summary>
    /// MassTransit retries a lost broker connection at intervals that grow to 30 s (about 6, 8, 17, 27, then 30 s), so after
    /// an outage of half a minute a service came back up to 30 s after the broker did, while its messages waited. The policy
    /// is fixed in its RabbitMQ host configuration, with no setting: this replaces it before the bus starts with one that
    /// retries the same failures (the transport's own policy decides which) every 1 to 5 s. False, and MassTransit's
    /// policy kept, when this MassTransit keeps it elsewhere; a test fails first.
    /// </summary>
    internal static bool ReconnectQuickly(IRabbitMqBusFactoryConfigurator rabbit)
    {
        const BindingFlags Private = BindingFlags.Instance | BindingFlags.NonPublic;
        var host = rabbit.GetType().GetField("_hostConfiguration", Private)?.GetValue(rabbit);
        var field = host?.GetType().GetField("<ReceiveTransportRetryPolicy>k__BackingField", Private);
        if (field?.GetValue(host) is not IRetryPolicy transportPolicy)
        {
            return false;
        }

        field.SetValue(host, Retry.CreatePolicy(retry =>
        {
            retry.Handle<Exception>(transportPolicy.IsHandled);
            retry.Exponential(int.MaxValue, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));
        }));
        return true;
    }

    /// <summary>
    /// The headers SECURITY.md promises on every answer of both services: answers hold keys, secrets and citizens'
    /// numbers, so no cache keeps one and no browser reads one as another type; and no <c>Server</c> header, since what
    /// serves them is nobody's business.
    /// </summary>
    public static WebApplicationBuilder AddSecurityHeaders(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        return builder;
    }

    /// <inheritdoc cref="AddSecurityHeaders(WebApplicationBuilder)"/>
    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        app.Use(static (context, next) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.XContentTypeOptions = "nosniff";
            return next(context);
        });
        return app;
    }

    /// <summary>
    /// <c>/health/live</c> (the process answers) and <c>/health/ready</c> (the checks tagged ready, as
    /// <see cref="Readiness"/> judges them), as JSON.
    /// </summary>
    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthReportWriter.WriteAsync });
        var readiness = new Readiness();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains("ready"),
            ResponseWriter = (context, report) =>
            {
                var judged = readiness.Judge(report);
                context.Response.StatusCode = judged.Status == HealthStatus.Unhealthy
                    ? StatusCodes.Status503ServiceUnavailable
                    : StatusCodes.Status200OK;
                return HealthReportWriter.WriteAsync(context, judged);
            },
        });
        return app;
    }
}
