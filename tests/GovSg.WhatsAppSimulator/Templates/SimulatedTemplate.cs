using System.Collections.Frozen;

namespace GovSg.WhatsAppSimulator.Templates;

/// <summary>An approved template as Meta knows it: its name, how many body parameters it takes, its languages.</summary>
internal sealed record SimulatedTemplate(string Name, int ParameterCount, FrozenSet<string> Languages);
