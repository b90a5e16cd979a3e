using GovSg.Api.Http;
using GovSg.Api.Messages;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace GovSg.Api.Callbacks;

/// <summary>
/// The status events the Dispatcher POSTs to the URL set here (SPEC §11.1), as an OpenAPI callback of the set operation:
/// what an agency's receiver gets, how it is signed, and what each answer leads to. The Dispatcher writes the body and
/// headers (<c>CallbackClient</c>); this is their description.
/// </summary>
internal static class CallbackEventDoc
{
    private static readonly HeaderDoc Signature = HeaderDoc.Text("X-GovSg-Signature", """
        `t=<unix seconds of this attempt>,v1=<hex HMAC-SHA256(key = the secret's UTF-8 bytes, "<t>.<raw body>")>`; for 24 h
        after a rotation a second `v1=`, signed with the previous secret. Accept the request when any `v1` matches (compare
        in constant time, over the raw body as received) and `t` is at most 5 minutes old.
        """);

    private static readonly HeaderDoc EventId = HeaderDoc.Text("X-GovSg-Event-Id",
        "The event's `id`, the same on every attempt: drop an event already handled.");

    private static readonly HeaderDoc KeyType = new("X-GovSg-Key-Type", "The type of key the message was sent with.",
        () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = WireSchemas.EnumOf(Vocabulary.KeyType) });

    public static Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context,
        CancellationToken cancellationToken)
    {
        var delivery = new OpenApiOperation
        {
            OperationId = "ReceiveStatusEvent",
            Tags = new HashSet<OpenApiTagReference> { new("Callbacks", context.Document) },
            // Authenticated by its signature, not by a scheme of this document.
            Security = [],
            Summary = "A status event of one of your messages (your endpoint)",
            Description = """
                Every status change of your messages (SPEC §4), at least once and in no guaranteed order: each event
                carries the message's whole state as the event left it, with its `updated_at`. The Dispatcher waits 5 s for
                an answer. Verify the signature before trusting the body.
                """,
            Parameters = [.. new[] { Signature, EventId, KeyType }.Select(header => header.AsParameter(required: true))],
            RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = EventSchema(context.Document) },
                },
            },
            Responses = new OpenApiResponses
            {
                ["2XX"] = new OpenApiResponse { Description = "Delivered." },
                ["4XX"] = new OpenApiResponse
                {
                    Description = "408 and 429 are retried; any other 4xx drops the event (`last_failure_reason` says so).",
                },
                ["default"] = new OpenApiResponse
                {
                    Description = "5xx, 3xx (redirects are not followed), a timeout or no connection: retried with " +
                                  "exponential backoff and full jitter (the first within 5 s, capped at 1 h) for 24 h.",
                },
            },
        };
        var path = new OpenApiPathItem();
        path.AddOperation(HttpMethod.Post, delivery);
        var callback = new OpenApiCallback();
        callback.AddPathItem(RuntimeExpression.Build("{$request.body#/url}"), path);
        operation.Callbacks ??= new Dictionary<string, IOpenApiCallback>();
        operation.Callbacks["statusEvent"] = callback;
        return Task.CompletedTask;
    }

    private static OpenApiSchema EventSchema(OpenApiDocument? document) => new()
    {
        Type = JsonSchemaType.Object,
        Required = new HashSet<string> { "id", "type", "created_at", "data" },
        AdditionalPropertiesAllowed = false,
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["id"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The event's id, as in `X-GovSg-Event-Id`." },
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Enum = ["message.status_changed"] },
            ["created_at"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String,
                Format = "date-time",
                Description = "When the event was recorded.",
            },
            ["data"] = new OpenApiSchemaReference(nameof(MessageResponse), document),
        },
    };
}
