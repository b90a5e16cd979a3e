using System.Text.Json;
using GovSg.Api.Messages;
using GovSg.Api.Webhooks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace GovSg.Api.Http;

/// <summary>
/// The OpenAPI document as client generators need it (SPEC §9.1), and the helpers a route calls to describe what its
/// handler does by hand (headers, raw bodies, errors). What holds for every route — the bearer scheme on authenticated
/// ones, the envelope on 401, 403, 405 and 500 — is added here once, so a new route only describes its own answers.
/// </summary>
public static class OpenApiExtensions
{
    public const string BearerScheme = "bearer";

    private const string DocumentPath = "/openapi/v1.json";

    public static WebApplicationBuilder AddOpenApiDocument(this WebApplicationBuilder builder)
    {
        builder.Services.AddOutputCache();
        builder.Services.AddOpenApi(options =>
        {
            // 3.0 rather than 3.1: NSwag reads `nullable: true`, not the 3.1 type arrays.
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_0;
            // Free-form JSON stays inline as "any object": a component named JsonElement clashes in generated code.
            options.CreateSchemaReferenceId = type =>
                type.Type == typeof(JsonElement) ? null : OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            options.AddDocumentTransformer(DescribeDocumentAsync);
            options.AddOperationTransformer(DescribeCommonAnswersAsync);
            options.AddSchemaTransformer(WireSchemas.TransformAsync);
            options.AddDocumentTransformer(WireSchemas.OptionalReferencesAsync);
        });
        return builder;
    }

    /// <summary>
    /// The document, and the Scalar reference at <c>/docs</c> (its script is served from the package). Anyone may fetch
    /// the document, and building it runs every transformer over every route: it cannot change while the Api runs, so
    /// it is built once and then served from memory.
    /// </summary>
    public static WebApplication MapOpenApiDocument(this WebApplication app)
    {
        app.UseOutputCache();
        app.MapOpenApi(DocumentPath).CacheOutput(policy => policy.AddPolicy<BuiltOnce>(), excludeDefaultPolicy: true);
        app.MapScalarApiReference("/docs", scalar => scalar
            .WithTitle("GovSg WhatsApp API")
            .DisableDefaultFonts()
            .WithOpenApiRoutePattern(DocumentPath));
        return app;
    }

    /// <summary>
    /// Caches the answer for every caller alike, in place of the default policy, which would build it again for any
    /// request with an <c>Authorization</c> header, and for each <c>Host</c> header and query string sent: anyone could
    /// make it build the document on every request, and keep a copy of each.
    /// </summary>
    private sealed class BuiltOnce : IOutputCachePolicy
    {
        public ValueTask CacheRequestAsync(OutputCacheContext context, CancellationToken cancellationToken)
        {
            context.EnableOutputCaching = true;
            context.AllowCacheLookup = true;
            context.AllowCacheStorage = true;
            context.AllowLocking = true;
            context.ResponseExpirationTimeSpan = TimeSpan.FromDays(365);
            context.CacheVaryByRules.VaryByHost = false;
            return ValueTask.CompletedTask;
        }

        public ValueTask ServeFromCacheAsync(OutputCacheContext context, CancellationToken cancellationToken) =>
            ValueTask.CompletedTask;

        public ValueTask ServeResponseAsync(OutputCacheContext context, CancellationToken cancellationToken)
        {
            context.AllowCacheStorage = context.HttpContext.Response.StatusCode == StatusCodes.Status200OK;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Documents the error envelope for each status an endpoint can answer with.</summary>
    public static RouteHandlerBuilder ProducesError(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var statusCode in statusCodes)
        {
            builder.Produces<ErrorBody>(statusCode);
        }

        return builder;
    }

    /// <summary>A request header the handler reads itself.</summary>
    public static TBuilder WithRequestHeader<TBuilder>(this TBuilder builder, HeaderDoc header, bool required = false)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(header.AsParameter(required));
            return Task.CompletedTask;
        });

    /// <summary>Headers the handler sets on the answers with these status codes (all documented answers when none).</summary>
    public static TBuilder WithResponseHeaders<TBuilder>(this TBuilder builder, int[] statusCodes, params HeaderDoc[] headers)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            var codes = statusCodes.Select(code => code.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
            foreach (var (code, response) in operation.Responses ?? [])
            {
                if ((codes.Count == 0 || codes.Contains(code)) && response is OpenApiResponse concrete)
                {
                    concrete.Headers ??= new Dictionary<string, IOpenApiHeader>();
                    foreach (var header in headers)
                    {
                        concrete.Headers[header.Name] = header.AsHeader();
                    }
                }
            }

            return Task.CompletedTask;
        });

    /// <summary>
    /// Documents a JSON body of <typeparamref name="TBody"/> that the handler reads itself (<see cref="JsonRequest"/>).
    /// Not the framework's <c>Accepts</c>: its metadata makes routing answer 415 to another content type before
    /// authentication and the rate limit run, and SPEC §3 puts the transport checks after both. Metadata that names no
    /// content type is not routed on, and the document gives such a body as <c>application/json</c>.
    /// </summary>
    public static RouteHandlerBuilder AcceptsJson<TBody>(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new JsonBodyMetadata(typeof(TBody)));

    private sealed record JsonBodyMetadata(Type RequestType) : IAcceptsMetadata
    {
        public IReadOnlyList<string> ContentTypes => [];

        public bool IsOptional => false;
    }

    /// <summary>A JSON object body the handler parses itself (to give exact messages), documented as any object.</summary>
    public static TBuilder AcceptsJsonObject<TBuilder>(this TBuilder builder, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object } },
                },
            };
            return Task.CompletedTask;
        });

    private static Task DescribeDocumentAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context,
        CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "GovSg WhatsApp API",
            Version = "v1",
            Description = """
                Transactional WhatsApp template messages to members of the public through the Gov.sg sender.
                A send is stored as `UNSENT` and answered at once; the message then moves to `ACCEPTED`, `SENT`,
                `DELIVERED` and `READ` (or `ERROR`). Read its status with a get or a list, or ask the send to wait with
                `Prefer: wait=<seconds>`. Every error answers `{"code": "...", "message": "..."}`.
                """,
        };
        // Relative: the document is valid for whichever host serves it, never a developer's localhost.
        document.Servers = [new OpenApiServer { Url = "/" }];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key issued to your agency: `Authorization: Bearer <key>`.",
        };
        document.Tags = new HashSet<OpenApiTag>
        {
            new() { Name = "Messages", Description = "Send transactional messages and read their status." },
            new() { Name = "Templates", Description = "The message templates granted to you." },
            new() { Name = "API keys", Description = "Create, list and revoke your own API keys." },
            new() { Name = "Callbacks", Description = "Where your status events are POSTed, and the secret that signs them." },
            new() { Name = "Provider webhooks", Description = "Status webhooks from the WhatsApp Cloud API (Meta only)." },
        };
        return Task.CompletedTask;
    }

    /// <summary>
    /// Authenticated routes get the bearer scheme and its 401/403; every route can answer 405 and 500. All in the envelope.
    /// </summary>
    private static Task DescribeCommonAnswersAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context,
        CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        List<int> codes = [StatusCodes.Status405MethodNotAllowed, StatusCodes.Status500InternalServerError];
        if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
            codes.AddRange([StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden]);
        }
        else
        {
            operation.Security = [];
        }

        operation.Responses ??= [];
        foreach (var code in codes)
        {
            operation.Responses.TryAdd(code.ToString(System.Globalization.CultureInfo.InvariantCulture), new OpenApiResponse());
        }

        foreach (var (code, response) in operation.Responses)
        {
            if (response is OpenApiResponse concrete && int.TryParse(code, out var status) && status >= 400)
            {
                concrete.Description = ErrorDescription(status);
                concrete.Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = new OpenApiSchemaReference(nameof(ErrorBody), context.Document) },
                };
                if (status == StatusCodes.Status503ServiceUnavailable)
                {
                    var header = ApiHeaders.RetryAfter;
                    concrete.Headers ??= new Dictionary<string, IOpenApiHeader>();
                    concrete.Headers[header.Name] = header.AsHeader();
                }
            }
        }

        return Task.CompletedTask;
    }

    private static string ErrorDescription(int status) => status switch
    {
        400 => "The request is invalid: `api_validation` or `malformed` (and, on a send, `invalid_recipient`).",
        401 => "Not authenticated (`unauthenticated`): no valid API key, or (webhooks) no valid signature.",
        403 => "Not allowed (`unauthorized`): the user or key is disabled, or a test key asked for what only a live key " +
               "may do; (webhooks) the verify token is wrong.",
        404 => "Not found, or not yours (`not_found`).",
        405 => "The method is not allowed on this route (`method_not_allowed`).",
        413 => "The body is too large (`payload_too_large`).",
        415 => "The body is not `application/json`, or is compressed (`unsupported_media_type`).",
        422 => "The Idempotency-Key was used with a different body (`idempotency_mismatch`).",
        429 => "Over the rate limit (`rate_limit`); retry after `Retry-After` seconds.",
        503 => "Temporarily unavailable (`service_unavailable`), or too many of your reads or batches at once: nothing stored, unless the message says the database stopped answering mid-request; retry after `Retry-After` seconds, with the same `Idempotency-Key`.",
        _ => "An unexpected error (`internal_server`); the message carries a trace id.",
    };
}

/// <summary>A header as documented: its name, what it means, and its schema (made fresh for each use).</summary>
public sealed record HeaderDoc(string Name, string Description, Func<OpenApiSchema> Schema)
{
    /// <summary>As a request's header parameter.</summary>
    public OpenApiParameter AsParameter(bool required) => new()
    {
        Name = Name,
        In = ParameterLocation.Header,
        Required = required,
        Description = Description,
        Schema = Schema(),
    };

    /// <summary>As a header of an answer.</summary>
    public OpenApiHeader AsHeader() => new() { Description = Description, Schema = Schema() };

    public static HeaderDoc Text(string name, string description) =>
        new(name, description, () => new OpenApiSchema { Type = JsonSchemaType.String });

    public static HeaderDoc Numeric(string name, string description) =>
        new(name, description, () => new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" });
}

/// <summary>The headers of SPEC §3 and §6, for routes to document with <see cref="OpenApiExtensions"/>.</summary>
public static class ApiHeaders
{
    public static readonly HeaderDoc IdempotencyKey = IdempotencyKeyOf(
        "The same key from you within 24 h returns the first message instead of sending again; with a different body, or " +
        "a key used on the batch route, the answer is 422.");

    public static readonly HeaderDoc BatchIdempotencyKey = IdempotencyKeyOf(
        "The same key from you within 24 h returns the first batch's entries (rejected ones too) with the messages' " +
        "current states instead of sending again; with a different body, or a key used on the send route, the answer is 422.");

    public static readonly HeaderDoc Prefer = HeaderDoc.Text("Prefer",
        "`wait=<1..10>` (RFC 7240): hold the answer until the message has left UNSENT, or the seconds have passed. " +
        "`respond-async`: answer at once, even when an operator set a default wait for your account.");

    public static readonly HeaderDoc Location = HeaderDoc.Text("Location", "The new message's URL.");

    public static readonly HeaderDoc IdempotencyReplayed = HeaderDoc.Text(Idempotency.ReplayedHeaderName,
        "`true` when the answer replays an earlier request with the same Idempotency-Key.");

    public static readonly HeaderDoc PreferenceApplied = HeaderDoc.Text("Preference-Applied", "`wait=<n>` when the send waited.");

    public static readonly HeaderDoc RateLimitLimit = HeaderDoc.Numeric("RateLimit-Limit",
        "Your send bucket's burst: the most messages you may send at once. It refills at your rate per second. On every " +
        "send answer but those that took a read token instead (a replay, or an Idempotency-Key used with another body: " +
        "422) and those refused before the limit (401, 403).");

    public static readonly HeaderDoc RateLimitRemaining = HeaderDoc.Numeric("RateLimit-Remaining", "Whole send tokens left in the bucket.");

    public static readonly HeaderDoc RateLimitReset = HeaderDoc.Numeric("RateLimit-Reset", "Seconds until the bucket is full again.");

    /// <summary>
    /// The answers of a send or a batch that may carry the <c>RateLimit-*</c> headers: not 401 and 403 (refused before the
    /// limit), nor 422 (a read token), nor 405 and 500.
    /// </summary>
    public static readonly int[] SendLimitAnswers =
    [
        StatusCodes.Status200OK, StatusCodes.Status201Created, StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound,
        StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType,
        StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable,
    ];

    public static readonly HeaderDoc RetryAfter = HeaderDoc.Numeric("Retry-After", "Seconds to wait before retrying.");

    private static HeaderDoc IdempotencyKeyOf(string rule) => new(Idempotency.HeaderName, $"1 to 255 visible ASCII characters. {rule}",
        () => new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 255, Pattern = "^[\\x21-\\x7E]+$" });

    public static readonly HeaderDoc HubSignature = HeaderDoc.Text(WebhookSignature.HeaderName,
        "`sha256=<hex HMAC-SHA256 of the raw body>`, keyed with the app secret.");
}
