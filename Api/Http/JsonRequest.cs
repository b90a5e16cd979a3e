using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace GovSg.Api.Http;

public static class JsonRequest
{
    private const int KestrelMargin = 64 * 1024;

    /// <summary>
    /// The transport checks of an agency request (SPEC §3), in order: size (413), content type (415), JSON
    /// (<c>malformed</c>). The caller disposes the document.
    /// </summary>
    public static async Task<(JsonDocument? Document, ApiError? Error)> ReadAsync(HttpRequest request, int limit,
        CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return (null, ApiError.PayloadTooLarge(limit));
        }

        // The server-wide limit (ServiceDefaults) is below the batch route's own; this route's limit is the one that counts,
        // enforced exactly by the read below. Kestrel's stays a backstop above it: set to the limit itself, it refused a
        // chunked body a few KiB under it, with its own answer.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize
            && bodySize.MaxRequestBodySize < limit + KestrelMargin)
        {
            bodySize.MaxRequestBodySize = limit + KestrelMargin;
        }

        // A chunked body's size is known only once read, and 413 comes before 415 (SPEC §3).
        var json = request.HasJsonContentType();
        var (bytes, bodyError) = json || request.ContentLength is null
            ? await RequestBody.ReadAsync(request, limit, cancellationToken)
            : (null, null);
        if (bodyError is not null)
        {
            return (null, bodyError);
        }

        if (!json)
        {
            return (null, ApiError.UnsupportedMediaType());
        }

        return JsonBody.Parse(bytes!) is { } document ? (document, null) : (null, ApiError.Malformed());
    }
}
