namespace GovSg.LoadGenerator.Setup;

/// <summary>An agency user the run sends as, with the plaintext of its key.</summary>
internal sealed record BenchUser(long Id, string ApiKey);
