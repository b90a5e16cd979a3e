using GovSg.Api.Auth;
using GovSg.LoadGenerator.Cli;

namespace GovSg.LoadGenerator.Setup;

/// <summary>
/// The Api's key pepper, so that keys written here verify in the Api: <c>Auth__KeyPepper</c>, else the local run's
/// <c>.local/secrets.env</c> found upwards from the working directory or the tool's own folder.
/// </summary>
internal static class Pepper
{
    private const string Variable = "Auth__KeyPepper";

    public static byte[] Load()
    {
        var pepper = Environment.GetEnvironmentVariable(Variable) ?? FromSecretsFile()
            ?? throw new UsageException($"set {Variable} to the Api's pepper, or run deploy/local/up.sh once to create .local/secrets.env");
        return new AuthOptions { KeyPepper = pepper }.PepperBytes;
    }

    private static string? FromSecretsFile()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var file = Path.Combine(directory.FullName, ".local", "secrets.env");
                if (File.Exists(file))
                {
                    return File.ReadLines(file)
                        .Select(line => line.Split('=', 2))
                        .Where(pair => pair.Length == 2 && pair[0].Trim() == Variable)
                        .Select(pair => pair[1].Trim())
                        .FirstOrDefault();
                }
            }
        }

        return null;
    }
}
