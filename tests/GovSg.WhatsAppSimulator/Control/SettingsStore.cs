using Microsoft.Extensions.Options;

namespace GovSg.WhatsAppSimulator.Control;

/// <summary>Holds the current <see cref="SimulationSettings"/>; readers take the snapshot without locking.</summary>
internal sealed class SettingsStore(IOptions<SimulatorOptions> options)
{
    private readonly Lock _lock = new();
    private volatile SimulationSettings _current = SimulationSettings.From(options.Value);

    public SimulationSettings Current => _current;

    public SimulationSettings Update(Func<SimulationSettings, SimulationSettings> change)
    {
        lock (_lock)
        {
            _current = change(_current);
            return _current;
        }
    }
}
