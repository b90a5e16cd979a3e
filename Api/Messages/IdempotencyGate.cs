using System.Collections.Concurrent;
using GovSg.Api.Auth;
using GovSg.Api.Http;

namespace GovSg.Api.Messages;

/// <summary>
/// Sends that carry the same <c>Idempotency-Key</c> (of one user and key type, on either route) run one at a time in this
/// process: a duplicate waits for the first to finish, then finds its message or batch and replays it, taking a read
/// token rather than a send token (SPEC §3.2, §3.8, §7). Without the wait, a duplicate that arrived while the first was
/// under way took a send token of its own, or was refused 429 for the token the first had taken. Duplicates that reach
/// different replicas still meet at the insert's unique index and replay there. A waiting duplicate holds no batch slot
/// and has not read its body; beyond <see cref="MaxWaitingPerKey"/> of them, one is answered 503 at once, as a batch
/// beyond the slots' queues is.
/// </summary>
public sealed class IdempotencyGate
{
    /// <summary>The most sends with one key that wait here for their turn with it.</summary>
    public const int MaxWaitingPerKey = 16;

    private readonly ConcurrentDictionary<(long UserId, string KeyType, string Key), Task> _held = new();
    private readonly ConcurrentDictionary<(long UserId, string KeyType, string Key), int> _waiting = new();

    /// <summary>
    /// For a request with a valid <c>Idempotency-Key</c> (two keys, or an invalid one, are refused later and hold
    /// nothing): waits for its turn with the key, before anything else is done for it, and keeps the hold in the
    /// request's features for the send to let go early. No hold without a valid key; the refusal when too many sends with
    /// the key wait already.
    /// </summary>
    public async Task<(Hold? Held, ApiError? Busy)> EnterIfKeyedAsync(HttpContext http)
    {
        _ = Idempotency.ReadKey(http.Request, out var key);
        if (key is null || !Idempotency.IsValidKey(key))
        {
            return (null, null);
        }

        var caller = http.Features.Get<Caller>()!;
        if (await EnterAsync((caller.UserId, caller.KeyType, key), http.RequestAborted) is not { } held)
        {
            return (null, ApiError.ServiceUnavailable());
        }

        http.Features.Set(held);
        return (held, null);
    }

    /// <summary>
    /// The request's send has stored, replayed or refused what its key names: a duplicate waiting for the key may go on
    /// (and replay it) rather than wait for this one's publish, <c>Prefer: wait</c> or answer.
    /// </summary>
    public static void Release(HttpContext http) => http.Features.Get<Hold>()?.Dispose();

    /// <summary>
    /// Waits until no other send with this key is under way here; disposing the result lets the next one in. Null when
    /// <see cref="MaxWaitingPerKey"/> wait already.
    /// </summary>
    private async Task<Hold?> EnterAsync((long, string, string) entry, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_held.TryAdd(entry, done.Task))
        {
            return new Hold(this, entry, done);
        }

        try
        {
            if (_waiting.AddOrUpdate(entry, 1, (_, waiting) => waiting + 1) > MaxWaitingPerKey)
            {
                return null;
            }

            while (!_held.TryAdd(entry, done.Task))
            {
                if (_held.TryGetValue(entry, out var other))
                {
                    await other.WaitAsync(cancellationToken);
                }
            }

            return new Hold(this, entry, done);
        }
        finally
        {
            if (_waiting.AddOrUpdate(entry, 0, (_, waiting) => waiting - 1) == 0)
            {
                _waiting.TryRemove(KeyValuePair.Create(entry, 0));
            }
        }
    }

    /// <summary>A send's turn with its key; disposing it (again is harmless) lets the next send with the key in.</summary>
    public sealed class Hold(IdempotencyGate gate, (long, string, string Key) entry, TaskCompletionSource done) : IDisposable
    {
        public string Key => entry.Key;

        public void Dispose()
        {
            gate._held.TryRemove(KeyValuePair.Create(entry, done.Task));
            done.TrySetResult();
        }
    }
}
