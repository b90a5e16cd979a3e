using System.Collections.Concurrent;

namespace GovSg.WhatsAppSimulator.Recipients;

/// <summary>The scripted recipients, keyed by wa_id (digits without +).</summary>
internal sealed class RecipientRules
{
    private readonly ConcurrentDictionary<string, RecipientRule> _rules = new(StringComparer.Ordinal);

    public RecipientRule? Find(string waId) => _rules.TryGetValue(waId, out var rule) ? rule : null;

    public void Save(string waId, RecipientRule rule) => _rules[waId] = rule;

    public bool Remove(string waId) => _rules.TryRemove(waId, out _);

    public void Clear() => _rules.Clear();
}
