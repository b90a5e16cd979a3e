using System.Collections.Concurrent;
using GovSg.Api.Auth;

namespace GovSg.Api.Messages;

/// <summary>
/// Sends that carry the same <c>Idempotency-Key</c> (of one user and key type, on either route) run one at a time in this
/// process: a duplicate waits for the first to finish, then finds its message or batch and replays it, taking a read
/// token rather than a send token (SPEC §3.2, §3.8, §7). Without the wait, a duplicate that arrived while the first was
/// under way took a send token of its own, or was refused 429 for the token the first had taken. Duplicates that reach
/// different replicas still meet at the insert's unique index and replay there.
/// </summary>
public sealed class IdempotencyGate
{
    private readonly ConcurrentDictionary<(long UserId, string KeyType, string Key), Task> _held = new();

    /// <summary>
    /// For a request with a valid <c>Idempotency-Key</c> (two keys, or an invalid one, are refused later and hold
    /// nothing): waits for its turn with the key, before anything else is done for it, and keeps the hold in the
    /// request's features for the send to let go early. Null without a valid key.
    /// </summary>
    public async Task<Hold?> EnterIfKeyedAsync(HttpContext http)
    {
        _ = Idempotency.ReadKey(http.Request, out var key);
        if (key is null || !Idempotency.IsValidKey(key))
        {
            return null;
        }

        var caller = http.Features.Get<Caller>()!;
        var held = await EnterAsync(caller.UserId, caller.KeyType, key, http.RequestAborted);
        http.Features.Set(held);
        return held;
    }

    /// <summary>
    /// The request's send has stored, replayed or refused what its key names: a duplicate waiting for the key may go on
    /// (and replay it) rather than wait for this one's publish, <c>Prefer: wait</c> or answer.
    /// </summary>
    public static void Release(HttpContext http) => http.Features.Get<Hold>()?.Dispose();

    /// <summary>Waits until no other send with this key is under way here; disposing the result lets the next one in.</summary>
    private async Task<Hold> EnterAsync(long userId, string keyType, string key, CancellationToken cancellationToken)
    {
        var entry = (userId, keyType, key);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (!_held.TryAdd(entry, done.Task))
        {
            if (_held.TryGetValue(entry, out var other))
            {
                await other.WaitAsync(cancellationToken);
            }
        }

        return new Hold(this, entry, done);
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
