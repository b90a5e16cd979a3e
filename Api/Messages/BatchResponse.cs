using System.Text.Json.Serialization;
using GovSg.Api.Http;

namespace GovSg.Api.Messages;

/// <summary>The answer to a batch send (SPEC §3.8): one entry per item, in request order.</summary>
public sealed record BatchResponse(int Accepted, int Rejected, IReadOnlyList<BatchEntry> Data);

/// <summary>One item's outcome: the message when it was accepted, otherwise the error a single send would have got.</summary>
public sealed record BatchEntry(
    int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MessageResponse? Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ErrorBody? Error);

/// <summary>An entry as a batch row keeps it for replays: the message id, or the error.</summary>
public sealed record StoredBatchEntry(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ErrorBody? Error);
