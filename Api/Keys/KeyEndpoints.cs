using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;
using GovSg.Api.Messages;
using GovSg.Api.RateLimiting;
using GovSg.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace GovSg.Api.Keys;

/// <summary>
/// Self-service API keys (SPEC §3.9): an agency creates, lists and revokes its own keys. A test key sees and manages
/// test keys only, and may not create a live one.
/// </summary>
public static class KeyEndpoints
{
    public static RouteGroupBuilder MapKeys(this RouteGroupBuilder v1)
    {
        var group = v1.MapGroup("/api-keys").RequireAuthorization().WithTags("API keys");
        group.MapPost("", CreateAsync).WithName("CreateApiKey")
            .WithSummary("Create an API key")
            .WithDescription("A new key for your user; the key itself is in this answer only. A test key creates test keys only.")
            .AcceptsJson<CreateKeyRequestBody>()
            .AddEndpointFilter<ReadRateLimitFilter>()
            .Produces<CreatedKeyResponse>(StatusCodes.Status201Created)
            .ProducesError(400, 401, 403, 413, 415, 429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        group.MapGet("", ListAsync).WithName("ListApiKeys")
            .WithSummary("List your API keys")
            .WithDescription($"Your keys, newest first, without the keys themselves: every active key, and the newest {KeyStore.ListLimit} " +
                             "of all (revoked and expired ones included). A test key sees test keys only.")
            .AddEndpointFilter<ReadRateLimitFilter>()
            .IgnoresBody()
            .InReadSlot()
            .ProducesError(401, 403, 429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        group.MapDelete("/{keyId}", RevokeAsync).WithName("RevokeApiKey")
            .WithSummary("Revoke an API key")
            .WithDescription("Revokes the key at once; revoking the key that makes the call is allowed.")
            .AddEndpointFilter<ReadRateLimitFilter>()
            .IgnoresBody()
            .Produces(StatusCodes.Status204NoContent)
            .ProducesError(401, 403, 404, 429, 503)
            .WithResponseHeaders([StatusCodes.Status429TooManyRequests], ApiHeaders.RetryAfter);
        return v1;
    }

    public static async Task<Results<Created<CreatedKeyResponse>, ApiError>> CreateAsync(
        HttpRequest request,
        Caller caller,
        KeyStore store,
        IOptions<AuthOptions> options,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        var (document, transportError) = await JsonRequest.ReadAsync(request, MessageEndpoints.MaxBodyBytes, cancellationToken);
        if (transportError is not null)
        {
            return transportError;
        }

        using (document)
        {
            if (CreateKeyRequest.TryParse(document!.RootElement, out var body) is { } shapeError)
            {
                return shapeError;
            }

            var type = body!.Type ?? caller.KeyType;
            if (type != caller.KeyType && caller.IsTest)
            {
                return ApiError.Unauthorized("A test key may not create a live key");
            }

            var now = time.GetUtcNow().UtcDateTime.TruncateToMilliseconds();
            var (plainText, keyId, hash) = ApiKeys.Generate(options.Value.PepperBytes);
            var (row, makerStopped) = await store.CreateAsync(new NewKey(caller.UserId, keyId, hash, ApiKeys.LastFive(plainText),
                body.Label, type, now, now.AddDays(body.ValidDays), caller.ApiKeyId), cancellationToken);
            return (row, makerStopped) switch
            {
                ({ } created, _) => TypedResults.Created((string?)null, CreatedKeyResponse.From(created, plainText)),
                (_, "revoked") => ApiKeyVerifier.Revoked,
                (_, "disabled") => ApiKeyVerifier.Disabled,
                _ => ApiError.Validation($"User has reached the limit of {KeyStore.MaxActivePerType} active API keys"),
            };
        }
    }

    public static async Task<Ok<KeyListResponse>> ListAsync(Caller caller, KeyStore store, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var keys = await store.ListAsync(caller.UserId, VisibleType(caller), time.GetUtcNow().UtcDateTime, cancellationToken);
        return TypedResults.Ok(new KeyListResponse(keys.Select(KeyResponse.From).ToList()));
    }

    public static async Task<Results<NoContent, ApiError>> RevokeAsync(
        string keyId,
        Caller caller,
        KeyStore store,
        ApiKeyVerifier verifier,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        try
        {
            if (!ApiKeys.IsKeyId(keyId)
                || !await store.RevokeAsync(caller.UserId, keyId, VisibleType(caller), time.GetUtcNow().UtcDateTime, cancellationToken))
            {
                return ApiError.NotFound($"API key with ID {ApiKeys.WithoutSecret(keyId)} not found.");
            }
        }
        finally
        {
            // Also when the revocation may or may not have committed (the database stopped answering): this replica
            // reads the key again rather than trust it for the cache time.
            verifier.Forget(keyId);
        }

        return TypedResults.NoContent();
    }

    /// <summary>The key type the caller may see and manage; null for every type (a live key).</summary>
    private static string? VisibleType(Caller caller) => caller.IsTest ? KeyType.Test : null;
}
