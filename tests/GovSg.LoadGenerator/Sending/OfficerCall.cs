using System.Text.Json;
using System.Text.Json.Serialization;

namespace GovSg.LoadGenerator.Sending;

/// <summary>
/// The officer-call template (id 1 in deploy/local/templates.json) with its six params: the message the benchmark sends
/// and the read seed stores. Only the recipient varies.
/// </summary>
internal static class OfficerCall
{
    public const long TemplateId = 1;
    public const string WhatsAppTemplateName = "govsg_officer_call_v1";

    public static readonly string[] ParamOrder =
        ["recipient_name", "officer_name", "officer_designation", "agency", "topic", "timeslot"];

    private static readonly Dictionary<string, string> Params = new(StringComparer.Ordinal)
    {
        ["recipient_name"] = "Stanley Nguyen",
        ["officer_name"] = "John Tan",
        ["officer_designation"] = "Reception Officer",
        ["agency"] = "Open Government Products",
        ["topic"] = "document collection",
        ["timeslot"] = "1-3PM",
    };

    public static string ParamsJson { get; } = JsonSerializer.Serialize(Params, SendJsonContext.Default.DictionaryStringString);

    public static byte[] SendBody(string recipient) =>
        JsonSerializer.SerializeToUtf8Bytes(Body(recipient), SendJsonContext.Default.SendBody);

    public static byte[] BatchBody(IEnumerable<string> recipients) =>
        JsonSerializer.SerializeToUtf8Bytes(new BatchBody([.. recipients.Select(Body)]), SendJsonContext.Default.BatchBody);

    private static SendBody Body(string recipient) => new(recipient, TemplateId, Params, "en_GB");
}

internal sealed record SendBody(string Recipient, long TemplateId, IReadOnlyDictionary<string, string> Params, string LanguageCode);

internal sealed record BatchBody(IReadOnlyList<SendBody> Messages);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(SendBody))]
[JsonSerializable(typeof(BatchBody))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class SendJsonContext : JsonSerializerContext;
