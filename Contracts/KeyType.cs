namespace GovSg.Contracts;

/// <summary>
/// The types of API key (SPEC §11.2) as the API answers them and the database stores them with each key and message.
/// </summary>
public static class KeyType
{
    /// <summary>Sends to WhatsApp.</summary>
    public const string Live = "live";

    /// <summary>Never reaches the provider: its messages are answered as the provider would.</summary>
    public const string Test = "test";

    public static readonly IReadOnlyList<string> All = [Live, Test];
}
