namespace GovSg.Contracts;

/// <summary>
/// A message's statuses (SPEC §4) as the API answers them and the database's <c>message_status</c> enum spells them.
/// </summary>
public static class MessageStatus
{
    public const string Unsent = "UNSENT";
    public const string Accepted = "ACCEPTED";
    public const string Sent = "SENT";
    public const string Delivered = "DELIVERED";
    public const string Read = "READ";
    public const string Error = "ERROR";

    /// <summary>In lifecycle order, ERROR last.</summary>
    public static readonly IReadOnlyList<string> All = [Unsent, Accepted, Sent, Delivered, Read, Error];
}
