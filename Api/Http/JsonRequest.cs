using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace GovSg.Api.Http;

public static class JsonRequest
{
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

        // The server-wide limit (ServiceDefaults) is below the batch route's own; this route's limit is the one that counts.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize
            && bodySize.MaxRequestBodySize < limit)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        if (!request.HasJsonContentType())
        {
            return (null, ApiError.UnsupportedMediaType());
        }

        var (bytes, bodyError) = await RequestBody.ReadAsync(request, limit, cancellationToken);
        if (bodyError is not null)
        {
            return (null, bodyError);
        }

        return JsonBody.Parse(bytes!) is { } document ? (document, null) : (null, ApiError.Malformed());
    }
}
