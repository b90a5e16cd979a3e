using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GovSg.Api.Http;
using GovSg.Contracts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Primitives;
using Microsoft.OpenApi;

namespace GovSg.Api.Messages;

/// <summary>The list filters of SPEC §3.4, validated with the old API's messages.</summary>
public sealed partial record ListQuery(
    int Limit,
    int Offset,
    string? Status,
    DateTime? CreatedAfter,
    DateTime? CreatedFrom,
    DateTime? CreatedBefore,
    DateTime? CreatedUntil,
    string SortColumn,
    bool Ascending)
{
    public const int MaxLimit = 1000;
    public const int MaxOffset = 100_000;

    public static readonly string[] Statuses = [.. MessageStatus.All];

    private static readonly (string Name, Func<OpenApiSchema> Schema, string Description)[] Parameters =
    [
        ("limit", () => Range(1, MaxLimit, 10), "Page size."),
        ("offset", () => Range(0, MaxOffset, 0), "Messages to skip; beyond the cap, filter on `created_at` instead."),
        ("status", () => new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. Statuses.Select(s => (JsonNode)s)] },
            "Only messages in this status (any case)."),
        ("created_at[gt]", Text, "Created after this ISO 8601 date or date-time (UTC when no offset)."),
        ("created_at[gte]", Text, "Created at or after this ISO 8601 date or date-time."),
        ("created_at[lt]", Text, "Created before this ISO 8601 date or date-time."),
        ("created_at[lte]", Text, "Created at or before this ISO 8601 date or date-time."),
        ("sort_by", () => new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[+ -]?(created_at|updated_at)$", Default = "-created_at" },
            "`created_at` or `updated_at`, prefixed `+` (ascending; send it as `%2B`) or `-` (descending, the default)."),
    ];

    private static readonly string[] Keys = [.. Parameters.Select(p => p.Name)];

    /// <summary>Documents the parameters in OpenAPI: the handler reads the query itself, to give the exact messages.</summary>
    public static Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context,
        CancellationToken cancellationToken)
    {
        operation.Parameters ??= [];
        foreach (var (name, schema, description) in Parameters)
        {
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = name,
                In = ParameterLocation.Query,
                Description = description,
                Schema = schema(),
            });
        }

        return Task.CompletedTask;
    }

    private static OpenApiSchema Text() => new() { Type = JsonSchemaType.String };

    private static OpenApiSchema Range(int minimum, int maximum, int fallback) => new()
    {
        Type = JsonSchemaType.Integer,
        Format = "int32",
        Minimum = minimum.ToString(CultureInfo.InvariantCulture),
        Maximum = maximum.ToString(CultureInfo.InvariantCulture),
        Default = fallback,
    };

    /// <summary>
    /// Unknown and repeated parameters are refused first (in query order), then each parameter is checked in the order
    /// above. A raw <c>+</c> decodes to a space, so a leading space in <c>sort_by</c> means ascending.
    /// </summary>
    public static ApiError? TryParse(IQueryCollection query, out ListQuery? result)
    {
        result = null;
        foreach (var (key, values) in query)
        {
            if (!Keys.Contains(key))
            {
                return ApiError.Validation($"\"{key}\" is not allowed");
            }

            if (values.Count > 1)
            {
                return ApiError.Validation($"\"{key}\" must not be repeated");
            }
        }

        // Every check runs (they are cheap); the first failure in parameter order is the one reported.
        ApiError?[] errors =
        [
            Integer(query, "limit", 10, 1, MaxLimit, out var limit),
            Integer(query, "offset", 0, 0, MaxOffset, out var offset),
            ParseStatus(query["status"], out var status),
            Date(query, "created_at[gt]", out var after),
            Date(query, "created_at[gte]", out var from),
            Date(query, "created_at[lt]", out var before),
            Date(query, "created_at[lte]", out var until),
            ParseSort(query["sort_by"], out var column, out var ascending),
        ];
        if (errors.FirstOrDefault(e => e is not null) is { } error)
        {
            return error;
        }

        result = new ListQuery(limit, offset, status, after, from, before, until, column, ascending);
        return null;
    }

    private static ApiError? Integer(IQueryCollection query, string key, int fallback, int min, int max, out int value)
    {
        value = fallback;
        if (!query.TryGetValue(key, out var raw))
        {
            return null;
        }

        var text = raw.ToString();
        if (!IntegerText().IsMatch(text))
        {
            return ApiError.Validation($"\"{key}\" must be a number");
        }

        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            // Too many digits for an int: out of range on its side.
            value = text[0] == '-' ? int.MinValue : int.MaxValue;
        }

        if (value < min)
        {
            return ApiError.Validation($"\"{key}\" must be greater than or equal to {min}");
        }

        return value > max
            ? ApiError.Validation(key == "offset"
                ? $"\"offset\" must be less than or equal to {MaxOffset}; to page further back, filter on created_at instead"
                : $"\"{key}\" must be less than or equal to {max}")
            : null;
    }

    private static ApiError? ParseStatus(StringValues raw, out string? status)
    {
        status = null;
        if (raw.Count == 0)
        {
            return null;
        }

        status = Statuses.FirstOrDefault(s => s.Equals(raw.ToString(), StringComparison.OrdinalIgnoreCase));
        return status is null ? ApiError.Validation($"\"status\" must be one of [{string.Join(", ", Statuses)}]") : null;
    }

    /// <summary>
    /// ISO-8601 extended format: a date, or a date-time with optional fraction (after a point or a comma) and offset (UTC
    /// when absent).
    /// </summary>
    private static ApiError? Date(IQueryCollection query, string key, out DateTime? value)
    {
        value = null;
        if (!query.TryGetValue(key, out var raw))
        {
            return null;
        }

        // A decoded '+' in an offset arrives as a space.
        var match = IsoDate().Match(raw.ToString().Replace(' ', '+'));
        if (!match.Success || !DateTimeOffset.TryParse(CanonicalDate(match), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return ApiError.Validation($"\"{key}\" must be in ISO 8601 date format");
        }

        value = parsed.UtcDateTime;
        return null;
    }

    /// <summary>
    /// The matched date with the fraction cut to the 100 ns a DateTime holds (ISO 8601's decimal comma as a point) and an
    /// hour-only offset given minutes.
    /// </summary>
    private static string CanonicalDate(Match match)
    {
        var fraction = match.Groups["fraction"].Value.Replace(',', '.');
        var offset = match.Groups["offset"].Value;
        return string.Concat(match.Groups["datetime"].Value, fraction[..Math.Min(fraction.Length, 8)],
            offset.Length == 3 ? offset + ":00" : offset);
    }

    private static ApiError? ParseSort(StringValues raw, out string column, out bool ascending)
    {
        column = "created_at";
        ascending = false;
        if (raw.Count == 0)
        {
            return null;
        }

        var match = Sort().Match(raw.ToString());
        if (!match.Success)
        {
            return ApiError.Validation(
                "\"sort_by\" must be one of [created_at, +created_at, -created_at, updated_at, +updated_at, -updated_at]");
        }

        column = match.Groups["column"].Value;
        ascending = match.Groups["direction"].Value is "+" or " ";
        return null;
    }

    // A date, optionally a time (hh:mm or hh:mm:ss); a fraction only after seconds, an offset only after a time.
    [GeneratedRegex(@"\A(?<datetime>[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?)" +
                    @"((?<=:[0-9]{2}:[0-9]{2})(?<fraction>[.,][0-9]+))?((?<=T.*)(?<offset>Z|[+-][0-9]{2}(:[0-9]{2})?))?\z")]
    private static partial Regex IsoDate();

    [GeneratedRegex(@"\A[+-]?[0-9]+\z")]
    private static partial Regex IntegerText();

    [GeneratedRegex(@"\A(?<direction>[+\- ]?)(?<column>created_at|updated_at)\z")]
    private static partial Regex Sort();
}
