namespace GovSg.WhatsAppSimulator.Messages;

internal sealed record SendMessageResponse(
    string MessagingProduct,
    IReadOnlyList<SendMessageContact> Contacts,
    IReadOnlyList<SendMessageId> Messages);

internal sealed record SendMessageContact(string Input, string WaId);

internal sealed record SendMessageId(string Id, string MessageStatus);
