using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

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

        // A chunked body's size is known only once read, and 413 comes before 415 (SPEC §3). A compressed body is refused
        // 415 as well (RFC 9110 §15.5.16), rather than read as JSON and answered malformed.
        var encoded = !IsIdentity(request.Headers.ContentEncoding);
        var json = request.HasJsonContentType() && !encoded;
        var (bytes, bodyError) = json || request.ContentLength is null
            ? await RequestBody.ReadAsync(request, limit, cancellationToken)
            : (null, null);
        if (bodyError is not null)
        {
            return (null, bodyError);
        }

        if (encoded)
        {
            // The codings that would have been accepted (RFC 9110 §15.5.16): none but identity.
            request.HttpContext.Response.Headers.AcceptEncoding = "identity";
            return (null, ApiError.UnsupportedMediaType("Content-Encoding is not supported: send the body uncompressed"));
        }

        if (!json)
        {
            return (null, ApiError.UnsupportedMediaType());
        }

        // JSON between systems is UTF-8 (RFC 8259 §8.1); the old API's body-parser refused other charsets with 415 too.
        if (!IsUtf8(request.ContentType))
        {
            return (null, ApiError.UnsupportedMediaType("Content-Type charset must be utf-8"));
        }

        return JsonBody.Parse(bytes!) is { } document ? (document, null) : (null, ApiError.Malformed());
    }

    /// <summary>
    /// <see cref="ReadAsync(HttpRequest, int, CancellationToken)"/>, refusing a body that has not all arrived within
    /// <paramref name="deadline"/>: for a route whose request holds a place others wait for while its body arrives.
    /// </summary>
    public static async Task<(JsonDocument? Document, ApiError? Error)> ReadAsync(HttpRequest request, int limit,
        TimeSpan deadline, CancellationToken cancellationToken)
    {
        using var _ = RequestBody.Deadline(request, deadline);
        return await ReadAsync(request, limit, cancellationToken);
    }

    private static bool IsUtf8(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
        && HeaderUtilities.RemoveQuotes(mediaType.Charset) is var charset
        && (charset.Length == 0 || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));

    private static bool IsIdentity(StringValues contentEncoding) => contentEncoding.Count == 0 || contentEncoding
        .SelectMany(value => (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        .All(coding => coding.Equals("identity", StringComparison.OrdinalIgnoreCase));
}
