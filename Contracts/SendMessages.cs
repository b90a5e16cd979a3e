namespace GovSg.Contracts;

/// <summary>
/// Send the messages with these ids to the provider: one command for many messages, so they do not cost one broker
/// message each — a batch send's messages, or single sends whose commands queued up together. Carries ids only, never
/// recipients or params. <see cref="Traces"/>, when present, holds each message's own trace (a W3C <c>traceparent</c>,
/// null for a message sent outside any trace), in the order of <see cref="MessageIds"/>; without it every message
/// belongs to the trace the command was published in. <see cref="Test"/> says every message is a test key's (SPEC §11.2):
/// the Dispatcher simulates them without reserving call slots of the number's pace, so test traffic never holds up live
/// messages. Every publisher sets it: the Api, its drain after a broker outage, and the sweep. A command without it that
/// still carries a test message (a stopping Dispatcher returns what its live commands held) has it found at the claim,
/// and its slot given back.
/// </summary>
public sealed record SendMessages(long[] MessageIds, string?[]? Traces = null, bool Test = false)
{
    /// <summary>
    /// The most ids one command carries: a Dispatcher claims a command's messages in one statement, as it claims a
    /// batch of 50 single commands, so a batch send of 1,000 costs 20 broker messages instead of 1,000.
    /// </summary>
    public const int MaxIds = 50;
}
