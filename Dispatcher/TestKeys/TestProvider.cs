using GovSg.Dispatcher.Sending;

namespace GovSg.Dispatcher.TestKeys;

/// <summary>The next simulated receipt of a test message: its status (and error), and when it is due after acceptance.</summary>
public sealed record SimulatedReceipt(string Status, TimeSpan After, string? ErrorCode = null, string? ErrorDescription = null);

/// <summary>
/// What the provider would do with a test message (SPEC §11.2), decided from the message alone: no I/O, so every case
/// is a row in a table test. Any valid recipient is accepted at once and then sent, delivered and read; the magic
/// recipients exercise an agency's handling of failures.
/// </summary>
public static class TestProvider
{
    /// <summary>Accepted, then fails as not on WhatsApp (131026).</summary>
    public const string UndeliverableRecipient = "+6580000001";

    /// <summary>Refused at once: the template is paused (132015).</summary>
    public const string TemplatePausedRecipient = "+6580000002";

    /// <summary>Two transient failures (131000), retried on the normal schedule, then the normal path.</summary>
    public const string FlakyRecipient = "+6580000003";

    /// <summary>Accepted, and no receipt ever after (a recipient whose phone is off). 0017_test_keys.sql names it too.</summary>
    public const string SilentRecipient = "+6580000004";

    private const int FlakyFailures = 2;

    public static bool IsTest(ClaimedMessage message) => message.KeyType == Contracts.KeyType.Test;

    public static string ProviderMessageId(long messageId) => $"wamid.test.{messageId}";

    /// <summary>The simulated provider's answer to this attempt, classified as a real answer would be.</summary>
    public static SendOutcome Send(ClaimedMessage message) => message.Recipient switch
    {
        TemplatePausedRecipient => Failure(132015, "(#132015) Template is paused: the template's quality is too low"),
        FlakyRecipient when message.Attempts <= FlakyFailures => Failure(131000, "(#131000) Something went wrong"),
        _ => SendOutcome.Success(ProviderMessageId(message.Id)),
    };

    /// <summary>The receipt that follows the message's current status; null when none will come.</summary>
    public static SimulatedReceipt? NextReceipt(string recipient, string status, TestKeyOptions options) =>
        (recipient, status) switch
        {
            (SilentRecipient, _) => null,
            (UndeliverableRecipient, "ACCEPTED") => new SimulatedReceipt("ERROR", options.SentAfter, "131026",
                "Message undeliverable: Message Undeliverable."),
            (_, "ACCEPTED") => new SimulatedReceipt("SENT", options.SentAfter),
            (_, "SENT") => new SimulatedReceipt("DELIVERED", options.DeliveredAfter),
            (_, "DELIVERED") => new SimulatedReceipt("READ", options.ReadAfter),
            _ => null,
        };

    private static SendOutcome Failure(int code, string description) =>
        SendOutcome.Failure(ProviderErrors.Classify(400, code), code.ToString(System.Globalization.CultureInfo.InvariantCulture),
            description);
}
