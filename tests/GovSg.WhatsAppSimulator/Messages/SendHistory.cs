using Microsoft.Extensions.Options;

namespace GovSg.WhatsAppSimulator.Messages;

internal sealed record RecordedSend(
    string Wamid,
    string To,
    string Template,
    string Language,
    IReadOnlyList<string> Parameters,
    DateTimeOffset ReceivedAt,
    string? BizOpaqueCallbackData);

/// <summary>The most recent accepted sends, oldest first, so tests can check what reached "Meta".</summary>
internal sealed class SendHistory(IOptions<SimulatorOptions> options)
{
    private readonly Lock _lock = new();
    private readonly Queue<RecordedSend> _sends = new();
    private readonly int _limit = options.Value.SendHistoryLimit;

    public void Add(RecordedSend send)
    {
        lock (_lock)
        {
            _sends.Enqueue(send);
            if (_sends.Count > _limit)
            {
                _sends.Dequeue();
            }
        }
    }

    /// <summary>The sends to one wa_id, or all of them when <paramref name="waId"/> is null.</summary>
    public List<RecordedSend> Find(string? waId)
    {
        lock (_lock)
        {
            var found = new List<RecordedSend>(waId is null ? _sends.Count : 0);
            foreach (var send in _sends)
            {
                if (waId is null || send.To == waId)
                {
                    found.Add(send);
                }
            }

            return found;
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _sends.Clear();
        }
    }
}
