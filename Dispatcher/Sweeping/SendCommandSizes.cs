namespace GovSg.Dispatcher.Sweeping;

/// <summary>
/// How many messages a send command carries, learnt from the commands this dispatcher consumes: one for a single
/// command, up to 50 for a batch send's or for single sends whose commands the Api published together. The send
/// queue's ready count alone would understate a backlog (<see cref="QueueDepth.ReadyMessages"/>).
/// </summary>
public sealed class SendCommandSizes
{
    /// <summary>Roughly how many of the latest commands the average is taken over.</summary>
    private const double CommandsRemembered = 1_000;

    private readonly Lock _lock = new();
    private double _commands;
    private double _ids;

    /// <summary>Ids per command, averaged over the latest commands consumed here, older ones fading; one until any is.</summary>
    public double IdsPerCommand
    {
        get
        {
            lock (_lock)
            {
                return _commands > 0 ? _ids / _commands : 1;
            }
        }
    }

    /// <summary>Records commands consumed here and the ids they carried.</summary>
    public void Consumed(int commands, int ids)
    {
        lock (_lock)
        {
            var kept = Math.Exp(-commands / CommandsRemembered);
            _commands = _commands * kept + commands;
            _ids = _ids * kept + ids;
        }
    }
}
