using System.Diagnostics;
using System.Text.Json;
using GovSg.Api.Auth;
using GovSg.Api.Extensions;
using GovSg.Api.Http;
using GovSg.Api.RateLimiting;

namespace GovSg.Api.Messages;

/// <summary>The result of a batch send: the answer (new or replayed) or the error for the whole batch.</summary>
public sealed record BatchResult(BatchResponse? Response, bool Replayed, ApiError? Error);

/// <summary>
/// A batch send after its transport checks (SPEC §3.8), in the order given there: the request-level checks, the burst,
/// the idempotency replay, the tokens (one per item), then each item's own checks (<see cref="SendValidator"/>).
/// Accepted items are stored in one statement and dispatched with a few batch commands.
/// </summary>
public sealed class BatchService(
    SendValidator validator,
    SendService sends,
    BatchStore batches,
    MessageStore messages,
    CommandPublisher publisher,
    RateLimiter limiter,
    ApiMetrics metrics,
    TimeProvider time)
{
    public async Task<BatchResult> SendAsync(HttpContext http, Caller caller, JsonElement body, string? idempotencyKey)
    {
        if (BatchRequest.TryParse(body, out var items) is { } requestError)
        {
            return await RefuseAsync(http, caller, requestError);
        }

        var burst = RateLimiter.SendLimit(caller).Burst;
        if (items.Count > burst)
        {
            return await RefuseAsync(http, caller,
                ApiError.Validation($"Batch of {items.Count} messages exceeds your burst allowance of {burst}"));
        }

        if (idempotencyKey is null)
        {
            return await SendNewAsync(http, caller, items, null);
        }

        if (!Idempotency.IsValidKey(idempotencyKey))
        {
            return await RefuseAsync(http, caller, Idempotency.InvalidKey());
        }

        // Its turn with the key was taken before its slot (BatchSlotsFilter).
        var key = new BatchKey(caller.KeyType, idempotencyKey, Idempotency.Fingerprint(body));
        return await ReplayAsync(http, caller, key) ?? await SendNewAsync(http, caller, items, key);
    }

    private async Task<BatchResult> SendNewAsync(HttpContext http, Caller caller, IReadOnlyList<JsonElement> items, BatchKey? key)
    {
        var cancellationToken = http.RequestAborted;
        if (await limiter.TakeSendAsync(http, caller, items.Count) is { } refusal)
        {
            // A batch with the same key on another Api may be storing now, which the replay's lookup cannot see: this one
            // waits for it and replays it, as concurrent duplicates on one Api do, rather than being refused (SPEC §3.8).
            return key is not null && await batches.IsKeyTakenOnceStoredAsync(caller.UserId, key, cancellationToken)
                ? await ReplayAsync(http, caller, key) ?? Failed(refusal)
                : Failed(refusal);
        }

        var checks = await validator.ValidateManyAsync(caller.UserId, items, cancellationToken);
        if (await AcceptAsync(http, caller, checks, key) is { } accepted)
        {
            return accepted;
        }

        // Another Api stored a batch under the key meanwhile, after this one's look at the key: this is its replay (or,
        // when it stored a single send, a mismatch).
        await limiter.GiveBackSendAsync(caller, items.Count, CancellationToken.None);
        return await ReplayAsync(http, caller, key!)
               ?? throw new InvalidOperationException("Batch idempotency key taken, but by no batch");
    }

    /// <summary>Stores and dispatches the accepted items; null when a concurrent batch with the same key won.</summary>
    private async Task<BatchResult?> AcceptAsync(HttpContext http, Caller caller,
        IReadOnlyList<(ValidSend? Send, ApiError? Error)> checks, BatchKey? key)
    {
        var now = time.GetUtcNow().UtcDateTime.TruncateToMilliseconds();
        var accepted = checks.Where(c => c.Send is not null).Select(c => c.Send!).ToList();
        var ids = await batches.StoreAsync(caller.UserId,
            accepted.Select(send => sends.ToNewMessage(caller, send, now, null, null)).ToList(), key, now,
            stored => JsonSerializer.Serialize(Entries(checks, stored, (id, _) => new StoredBatchEntry(id, null),
                error => new StoredBatchEntry(null, error.Body)), ApiJsonContext.Default.ListStoredBatchEntry),
            http.RequestAborted);
        if (ids is null)
        {
            return null;
        }

        IdempotencyGate.Release(http);
        Activity.Current?.SetTag("govsg.batch_size", checks.Count);
        await publisher.PublishAsync(ids, caller.IsTest, http.RequestAborted);
        metrics.MessagesStored(ids.Count);
        var data = Entries(checks, ids, (id, send) => new BatchEntry(0, SendService.Stored(id, send, now), null),
                error => new BatchEntry(0, null, error.Body))
            .Select((entry, index) => entry with { Index = index }).ToList();
        return new BatchResult(new BatchResponse(ids.Count, checks.Count - ids.Count, data), false, null);
    }

    /// <summary>One entry per item in request order: accepted items take the stored ids in turn.</summary>
    private static List<TEntry> Entries<TEntry>(IReadOnlyList<(ValidSend? Send, ApiError? Error)> checks,
        IReadOnlyList<long> ids, Func<long, ValidSend, TEntry> accepted, Func<ApiError, TEntry> rejected)
    {
        var next = 0;
        return checks.Select(c => c.Send is { } send ? accepted(ids[next++], send) : rejected(c.Error!)).ToList();
    }

    /// <summary>
    /// The earlier batch under this key with its messages' current states (taking a read token, as replays do), a
    /// mismatch when the key names a different body or a single send, or null when the key is free.
    /// </summary>
    private async Task<BatchResult?> ReplayAsync(HttpContext http, Caller caller, BatchKey key)
    {
        var cancellationToken = http.RequestAborted;
        var windowStart = time.GetUtcNow().UtcDateTime - Idempotency.Window;
        var holders = await messages.FindKeyHoldersAsync(caller.UserId, caller.KeyType, key.Key, cancellationToken);
        var existing = holders.Batch;
        if (existing is not null && existing.CreatedAt <= windowStart)
        {
            await batches.ReleaseAsync(existing.Id, cancellationToken);
            existing = null;
        }

        if (existing is null)
        {
            // One key across both routes, even when a single send took it after an expired batch had held it.
            return holders.Message is { } single && single.CreatedAt > windowStart ? Failed(ApiError.IdempotencyMismatch()) : null;
        }

        IdempotencyGate.Release(http);
        if (!key.Fingerprint.Matches(existing.RequestHash))
        {
            return Failed(ApiError.IdempotencyMismatch());
        }

        if (await limiter.TakeReadAsync(http, caller) is { } refusal)
        {
            return Failed(refusal);
        }

        var stored = JsonSerializer.Deserialize(existing.Entries, ApiJsonContext.Default.ListStoredBatchEntry)!;
        var rows = (await messages.GetManyAsync(caller.UserId, caller.KeyType, [.. stored.Where(e => e.Id is not null).Select(e => e.Id!.Value)],
            cancellationToken)).ToDictionary(r => r.Id);
        var data = stored.Select((entry, index) => entry.Id is { } id
            ? new BatchEntry(index, MessageResponse.From(rows[id]), null)
            : new BatchEntry(index, null, entry.Error)).ToList();
        var acceptedCount = stored.Count(e => e.Id is not null);
        return new BatchResult(new BatchResponse(acceptedCount, stored.Count - acceptedCount, data), true, null);
    }

    /// <summary>
    /// A batch refused before its tokens are counted. Still a send answer, so it carries the bucket's RateLimit-* headers
    /// (SPEC §7): a take of no tokens reads them.
    /// </summary>
    public async Task<BatchResult> RefuseAsync(HttpContext http, Caller caller, ApiError error)
    {
        await limiter.TakeSendAsync(http, caller, 0);
        return Failed(error);
    }

    private static BatchResult Failed(ApiError error) => new(null, false, error);
}
