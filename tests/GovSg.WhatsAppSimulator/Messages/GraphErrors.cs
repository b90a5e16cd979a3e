using System.Collections.Frozen;

namespace GovSg.WhatsAppSimulator.Messages;

/// <summary>The errors Meta answers a send with, worded as Meta words them.</summary>
internal static class GraphErrors
{
    public const int Undeliverable = 131026;

    private static readonly FrozenDictionary<int, string> Titles = new Dictionary<int, string>
    {
        [4] = "Application request limit reached",
        [100] = "Invalid parameter",
        [190] = "Access token has expired",
        [80007] = "Rate limit issues",
        [130429] = "Rate limit hit",
        [131000] = "Something went wrong",
        [131008] = "Required parameter is missing",
        [131009] = "Parameter value is not valid",
        [131016] = "Service unavailable",
        [Undeliverable] = "Message undeliverable",
        [131031] = "Account has been locked",
        [131042] = "Business eligibility payment issue",
        [131047] = "Re-engagement message",
        [131048] = "Spam rate limit hit",
        [131049] = "This message was not delivered to maintain healthy ecosystem engagement.",
        [131056] = "(Business Account, Consumer Account) pair rate limit hit",
        [132000] = "Number of parameters does not match the expected number of params",
        [132001] = "Template name does not exist in the translation",
        [132005] = "Translated text too long",
        [132007] = "Template Format Character Policy Violated",
        [132012] = "Parameter format does not match format in the created template",
        [132015] = "Template is Paused",
        [132016] = "Template is Disabled",
        [132018] = "There was an issue with the parameters in your template.",
        [133004] = "Server temporarily unavailable",
    }.ToFrozenDictionary();

    public static string TitleOf(int code) => Titles.GetValueOrDefault(code, "Simulated error");

    public static GraphError InvalidAccessToken() =>
        new(StatusCodes.Status401Unauthorized, 190, "Invalid OAuth access token - Cannot parse access token");

    public static GraphError UnknownPhoneNumberId(string id) => new(
        StatusCodes.Status400BadRequest,
        100,
        $"Unsupported post request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, "
            + "or does not support this operation",
        Type: "GraphMethodException",
        Subcode: 33);

    public static GraphError InvalidParameter(string details) =>
        new(StatusCodes.Status400BadRequest, 100, "(#100) Invalid parameter", details);

    public static GraphError TemplateNotFound(string name, string language) => new(
        StatusCodes.Status404NotFound,
        132001,
        $"(#132001) {TitleOf(132001)}",
        $"template name ({name}) does not exist in {language}",
        Subcode: 2494073);

    public static GraphError ParameterCountMismatch(string component, int given, int expected) => new(
        StatusCodes.Status400BadRequest,
        132000,
        $"(#132000) {TitleOf(132000)}",
        $"{component}: number of localizable_params ({given}) does not match the expected number of params ({expected})");

    public static GraphError ParameterTypeMismatch(int position) => new(
        StatusCodes.Status400BadRequest,
        132012,
        $"(#132012) {TitleOf(132012)}",
        $"body: parameter {position} must be of type text");

    public static GraphError ParameterMissing(int position) => new(
        StatusCodes.Status400BadRequest,
        131008,
        $"(#131008) {TitleOf(131008)}",
        $"body: parameter {position} has no text");

    public static GraphError ParameterFormat() => new(
        StatusCodes.Status400BadRequest,
        132018,
        $"(#132018) {TitleOf(132018)}",
        "Param text cannot have new-line/tab characters or more than 4 consecutive spaces");

    public static GraphError RateLimitHit() => new(
        StatusCodes.Status400BadRequest,
        130429,
        $"(#130429) {TitleOf(130429)}",
        "Cloud API message throughput has been reached.");

    public static GraphError SomethingWentWrong() => new(
        StatusCodes.Status500InternalServerError,
        131000,
        $"(#131000) {TitleOf(131000)}",
        TitleOf(131000));

    /// <summary>An error a recipient rule asks for; title and details default to Meta's wording for the code.</summary>
    public static GraphError Scripted(int httpStatus, int code, string? title, string? details)
    {
        var wording = title ?? TitleOf(code);
        return new(httpStatus, code, $"(#{code}) {wording}", details ?? wording);
    }
}
